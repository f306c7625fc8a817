import DNCLayers
import DNCModels
import DNCNumerics
import DNCStorage
import DNCTraining
import Foundation
import XCTest
import TestSupport

/// Checkpoints: exact round trips, every way a file can be wrong (each a one-line
/// `CheckpointError`, never a crash), atomic saves, pruning, and the debug dump's layout.
final class CheckpointTests: XCTestCase {
    private var directory = URL(fileURLWithPath: NSTemporaryDirectory())

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("CheckpointTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    // MARK: Fixtures

    /// A small DNC's store with values that stress exactness: signed zero, a subnormal, the
    /// largest finite Float, and random draws.
    private func model(seed: UInt64 = 4) -> DNC<Float> {
        var c = DNCConfiguration(inputSize: 5, hiddenSize: 8)
        c.cellCount = 6
        c.cellWidth = 4
        c.readHeads = 2
        let model = DNC<Float>(c, seed: seed)
        model.store.values[0] = -0.0
        model.store.values[1] = .leastNonzeroMagnitude
        model.store.values[2] = .greatestFiniteMagnitude
        return model
    }

    /// Adam after two steps on made-up gradients: a state with non-trivial buffers.
    private func trainedAdam(_ store: ParameterStore<Float>) throws -> any Optimiser<Float> {
        let adam = try Optimisers.seed("adam", learningRate: 1e-3, scalar: Float.self)
        for round in 0..<2 {
            for i in 0..<store.count { store.gradients[i] = Float((i * 7 + round * 3) % 11) * 0.01 - 0.05 }
            adam.step(store: store)
        }
        return adam
    }

    private func configuration() -> [String: CheckpointValue] {
        ["optim": .string("adam"), "nhid": .int(8), "lr": .double(1e-3), "debug": .bool(false),
         "reset_experience": .bool(true), "unicode_note": .string("größe μ")]
    }

    private func sampleCheckpoint(step: Int64 = 1200) throws -> (Checkpoint<Float>, DNC<Float>) {
        let model = model()
        let adam = try trainedAdam(model.store)
        let checkpoint = Checkpoint(step: step, store: model.store, optimiser: adam.exportState(),
                                    configuration: configuration(),
                                    counters: ["curriculum_level": 3, "data_position": 987_654_321,
                                               "rng_seed": Int64(bitPattern: 0xDEAD_BEEF_CAFE_F00D), "rng_stream": -1],
                                    scalars: ["running_loss": 0.125, "tiny": .leastNonzeroMagnitude])
        return (checkpoint, model)
    }

    private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    // MARK: Round trip

    func testRoundTripIsBitExactAndTrainingContinuesIdentically() throws {
        let (checkpoint, original) = try sampleCheckpoint()
        let file = path("exact.h5")
        try CheckpointFile.write(checkpoint, to: file)
        let read = try CheckpointFile.read(file, as: Float.self)
        XCTAssertEqual(read.step, 1200)
        XCTAssertEqual(read.configuration, configuration())
        XCTAssertEqual(read.counters, checkpoint.counters)
        XCTAssertEqual(read.scalars.mapValues(\.bitPattern), checkpoint.scalars.mapValues(\.bitPattern))
        XCTAssertEqual(read.parameters.map(\.name), original.store.slots.map(\.name))
        XCTAssertEqual(read.parameters.map(\.value.shape), original.store.slots.map(\.shape))
        XCTAssertEqual(bits(read.parameters.flatMap(\.value.storage)), bits(original.store.flatValues))
        let state = try XCTUnwrap(read.optimiser)
        XCTAssertEqual(state.algorithm, "adam")
        XCTAssertEqual(state.step, 2)
        XCTAssertEqual(Set(state.buffers.keys), Set(checkpoint.optimiser!.buffers.keys))
        for (name, buffer) in checkpoint.optimiser!.buffers { XCTAssertEqual(bits(state.buffers[name]!), bits(buffer), name) }

        // Restore into a fresh model and optimiser: the next step matches the original's bit for bit.
        let resumed = model(seed: 99)
        let restored = try CheckpointFile.load(file, into: resumed.store, expectingOptimiser: "adam")
        XCTAssertEqual(bits(resumed.store.flatValues), bits(original.store.flatValues))
        let adamResumed = try Optimisers.seed("adam", learningRate: 1e-3, scalar: Float.self)
        try adamResumed.importState(restored.optimiser!)
        let adamOriginal = try Optimisers.seed("adam", learningRate: 1e-3, scalar: Float.self)
        try adamOriginal.importState(checkpoint.optimiser!)
        for store in [original.store, resumed.store] {
            for i in 0..<store.count { store.gradients[i] = Float(i % 5) * 0.02 - 0.04 }
        }
        adamOriginal.step(store: original.store)
        adamResumed.step(store: resumed.store)
        XCTAssertEqual(bits(resumed.store.flatValues), bits(original.store.flatValues))
    }

    func testDoubleCheckpointRoundTripsAndIsNotReadAsFloat() throws {
        let store = ParameterStore<Double>()
        let w = store.add("w", shape: [3, 2])
        let s = store.add("scale", shape: [])
        store.set(w, to: Tensor(shape: [3, 2], storage: [1.0 / 3, -2, .pi, .leastNormalMagnitude / 4, -0.0, 7]))
        store.set(s, to: Tensor(shape: [], storage: [0.1]))
        let state = OptimiserState<Double>(algorithm: "sgd", step: 0, buffers: [:])
        let file = path("double.h5")
        try CheckpointFile.write(Checkpoint(step: 0, store: store, optimiser: state), to: file)
        let read = try CheckpointFile.read(file, as: Double.self)
        XCTAssertEqual(read.parameters.flatMap(\.value.storage).map(\.bitPattern), store.flatValues.map(\.bitPattern))
        XCTAssertEqual(read.optimiser, state)
        assertCheckpointError({ try CheckpointFile.read(file, as: Float.self) }, mentions: ["double.h5", "params/w", "float64", "float32"]) {
            if case .wrongType = $0 { return true } else { return false }
        }
    }

    func testRestoreIntoAnotherSlotOrderMovesOptimiserBuffersWithTheirParameters() throws {
        let first = ParameterStore<Float>()
        first.add("a", shape: [2])
        first.add("b", shape: [3])
        for i in 0..<5 { first.values[i] = Float(i + 1) }
        let buffer: [Float] = [10, 11, 20, 21, 22]  // a: 10, 11; b: 20, 21, 22
        let checkpoint = Checkpoint(step: 5, store: first, optimiser: OptimiserState(algorithm: "adagrad", step: 1, buffers: ["sum": buffer]))
        let file = path("order.h5")
        try CheckpointFile.write(checkpoint, to: file)
        let second = ParameterStore<Float>()
        second.add("b", shape: [3])
        second.add("a", shape: [2])
        let restored = try CheckpointFile.load(file, into: second)
        XCTAssertEqual(second.flatValues, [3, 4, 5, 1, 2])
        XCTAssertEqual(restored.optimiser?.buffers["sum"], [20, 21, 22, 10, 11])
        XCTAssertEqual(restored.parameters.map(\.name), ["b", "a"])
    }

    // MARK: Damaged and foreign files

    func testTruncatedCheckpointIsReportedAsDamaged() throws {
        let (checkpoint, _) = try sampleCheckpoint()
        let file = path("truncated.h5")
        try CheckpointFile.write(checkpoint, to: file)
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: file))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()
        assertCheckpointError({ try CheckpointFile.read(file, as: Float.self) }, mentions: ["truncated.h5", "truncated or damaged"]) {
            if case .corrupted = $0 { return true } else { return false }
        }
    }

    func testFlippedBytesAreDetectedOrHarmless() throws {
        let (checkpoint, _) = try sampleCheckpoint()
        let pristine = path("pristine.h5")
        try CheckpointFile.write(checkpoint, to: pristine)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pristine))
        let damaged = path("flipped.h5")

        // Bytes in the middle of the largest parameter's data (stored raw: checksum, no gzip).
        let largest = checkpoint.parameters.max { $0.value.count < $1.value.count }!
        let raw = largest.value.storage.withUnsafeBytes { Data($0) }
        let start = try XCTUnwrap(bytes.range(of: raw)?.lowerBound, "parameter bytes not found in the file")
        var middle = bytes
        for offset in (start + raw.count / 2)..<(start + raw.count / 2 + 4) { middle[offset] ^= 0xFF }
        try middle.write(to: URL(fileURLWithPath: damaged))
        assertCheckpointError({ try CheckpointFile.read(damaged, as: Float.self) }, mentions: ["flipped.h5", "params/\(largest.name)"]) {
            if case .corrupted = $0 { return true } else { return false }
        }

        // Anywhere else: either an error or, when the byte was unused (padding, free space,
        // spare B-tree slots), exactly the original contents; never different numbers.
        var detected = 0
        let positions = stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97))
        for offset in positions {
            var copy = bytes
            copy[offset] ^= 0x5A
            try copy.write(to: URL(fileURLWithPath: damaged))
            do {
                let read = try CheckpointFile.read(damaged, as: Float.self)
                XCTAssertEqual(read, checkpoint, "a flipped byte at \(offset) changed the contents undetected")
            } catch {
                detected += 1
                XCTAssertFalse(error.description.contains("\n"))
                XCTAssertTrue(error.description.contains("flipped.h5"), error.description)
            }
        }
        XCTAssertGreaterThan(detected, 0)
    }

    func testForeignAndNonHDF5FilesAreRejected() throws {
        let foreign = path("foreign.h5")
        do {
            let h5 = try HDF5File(path: foreign, mode: .create)
            try h5.write(Tensor<Float>(shape: [2], storage: [1, 2]), to: "params/w")
            try h5.close()
        }
        assertCheckpointError({ try CheckpointFile.read(foreign, as: Float.self) }, mentions: ["foreign.h5", "no 'format' attribute"]) {
            if case .foreignFile = $0 { return true } else { return false }
        }
        let other = path("other.h5")
        do {
            let h5 = try HDF5File(path: other, mode: .create)
            try h5.writeAttribute("format", "keras model")
            try h5.close()
        }
        assertCheckpointError({ try CheckpointFile.read(other, as: Float.self) }, mentions: ["other.h5", "'keras model'"]) {
            if case .foreignFile = $0 { return true } else { return false }
        }
        let text = path("notes.h5")
        try "not HDF5 at all".write(toFile: text, atomically: true, encoding: .utf8)
        assertCheckpointError({ try CheckpointFile.read(text, as: Float.self) }, mentions: ["notes.h5", "not an HDF5 file"]) {
            if case .notHDF5 = $0 { return true } else { return false }
        }
        assertCheckpointError({ try CheckpointFile.read(path("absent.h5"), as: Float.self) }, mentions: ["absent.h5", "no such file"]) {
            if case .notFound = $0 { return true } else { return false }
        }
    }

    func testUnsupportedVersionIsRejected() throws {
        let file = try writtenSample("v2.h5")
        try edit(file) { try $0.writeAttribute("format_version", Int64(2)) }
        assertCheckpointError({ try CheckpointFile.read(file, as: Float.self) }, mentions: ["v2.h5", "version 2", "version 1"]) {
            if case .unsupportedVersion(_, 2, 1) = $0 { return true } else { return false }
        }
    }

    func testRemovedDatasetsAreReportedByName() throws {
        let file = try writtenSample("removed.h5")
        let victim = model().store.slots[1].name
        try edit(file) { try $0.remove("params/\(victim)") }
        assertCheckpointError({ try CheckpointFile.read(file, as: Float.self) }, mentions: ["removed.h5", "params/\(victim)", "missing"]) {
            if case .missingObject = $0 { return true } else { return false }
        }
        let noState = try writtenSample("nostate.h5")
        try edit(noState) { try $0.remove("state") }
        assertCheckpointError({ try CheckpointFile.read(noState, as: Float.self) }, mentions: ["nostate.h5", "'state'"]) {
            if case .missingObject = $0 { return true } else { return false }
        }
        let unlisted = try writtenSample("unlisted.h5")
        try edit(unlisted) { try $0.write(Tensor<Float>(shape: [1], storage: [1]), to: "params/stowaway") }
        assertCheckpointError({ try CheckpointFile.read(unlisted, as: Float.self) }, mentions: ["unlisted.h5", "params/stowaway"]) {
            if case .invalidContents = $0 { return true } else { return false }
        }
    }

    func testShapeMismatchNamesTheParameterAndBothShapes() throws {
        let file = try writtenSample("shapes.h5")
        let slot = model().store.slots[0]
        let store = ParameterStore<Float>()
        for s in model().store.slots { store.add(s.name, shape: s.name == slot.name ? [s.shape[0] + 1] + s.shape.dropFirst() : s.shape) }
        let before = store.flatValues
        assertCheckpointError({ try CheckpointFile.load(file, into: store) },
                              mentions: ["shapes.h5", slot.name, "\(slot.shape)", "\([slot.shape[0] + 1] + slot.shape.dropFirst())"]) {
            if case .shapeMismatch = $0 { return true } else { return false }
        }
        XCTAssertEqual(store.flatValues, before, "a refused restore must leave the store untouched")

        // A shape changed inside the file (same element count) contradicts nothing but the model.
        let reshaped = try writtenSample("reshaped.h5")
        try edit(reshaped) { h5 in
            let value = try h5.readTensor("params/\(slot.name)", as: Float.self)
            try h5.write(value.reshaped([value.count]), to: "params/\(slot.name)", filters: .checksummed)
            try h5.writeAttribute("offset", Int64(0), at: "params/\(slot.name)")
        }
        assertCheckpointError({ try CheckpointFile.load(reshaped, into: self.model().store) }, mentions: ["reshaped.h5", slot.name]) {
            if case .shapeMismatch = $0 { return true } else { return false }
        }
    }

    func testMissingAndExtraParametersAreListed() throws {
        let file = try writtenSample("names.h5")
        let bigger = model().store
        bigger.add("extra.weight", shape: [2, 2])
        assertCheckpointError({ try CheckpointFile.load(file, into: bigger) }, mentions: ["names.h5", "'extra.weight'", "not in the checkpoint"]) {
            if case .missingParameters(_, ["extra.weight"]) = $0 { return true } else { return false }
        }
        let smaller = ParameterStore<Float>()
        let slots = model().store.slots
        for s in slots.dropLast() { smaller.add(s.name, shape: s.shape) }
        assertCheckpointError({ try CheckpointFile.load(file, into: smaller) }, mentions: ["names.h5", slots.last!.name, "not in the model"]) {
            if case .unexpectedParameters = $0 { return true } else { return false }
        }
    }

    func testOptimiserMismatchesAreRejected() throws {
        let file = try writtenSample("optim.h5")
        assertCheckpointError({ try CheckpointFile.load(file, into: self.model().store, expectingOptimiser: "rmsprop") },
                              mentions: ["optim.h5", "adam", "rmsprop"]) {
            if case .optimiserMismatch = $0 { return true } else { return false }
        }
        try edit(file) { try $0.write(Tensor<Float>(shape: [3], storage: [1, 2, 3]), to: "optimizer/exp_avg", filters: .checksummed) }
        assertCheckpointError({ try CheckpointFile.read(file, as: Float.self) }, mentions: ["optim.h5", "exp_avg", "3 elements"]) {
            if case .optimiserMismatch = $0 { return true } else { return false }
        }
        let bare = path("bare.h5")
        try CheckpointFile.write(Checkpoint(step: 1, store: model().store, optimiser: nil), to: bare)
        assertCheckpointError({ try CheckpointFile.load(bare, into: self.model().store, expectingOptimiser: "adam") },
                              mentions: ["bare.h5", "no optimiser state"]) {
            if case .optimiserMismatch = $0 { return true } else { return false }
        }
    }

    func testNonFiniteValuesAreRefusedByTheWriterAndRejectedByTheReader() throws {
        var (checkpoint, _) = try sampleCheckpoint(step: 7)
        let name = checkpoint.parameters[2].name
        var poisoned = checkpoint
        poisoned.parameters[2].value[flat: 1] = .nan
        let directory = CheckpointDirectory(path: path("nan-run"))
        assertCheckpointError({ try directory.save(poisoned) }, mentions: ["checkpoint-00000007.h5", "params/\(name)", "index 1"]) {
            if case .nonFinite = $0 { return true } else { return false }
        }
        XCTAssertEqual(directory.checkpointFiles().count, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("nan-run/.checkpoint-00000007.h5.tmp-\(getpid())")))
        checkpoint.optimiser!.buffers["exp_avg"]![5] = -.infinity
        assertCheckpointError({ try CheckpointFile.write(checkpoint, to: self.path("inf.h5")) }, mentions: ["inf.h5", "optimizer/exp_avg", "index 5"]) {
            if case .nonFinite = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("inf.h5")))

        let file = try writtenSample("patched.h5")
        try edit(file) { h5 in
            // Rewriting the dataset drops its attributes: carry the offset over.
            let offset = try h5.readAttribute("offset", at: "params/\(name)", as: Int64.self)
            var value = try h5.readTensor("params/\(name)", as: Float.self)
            value[flat: 0] = .infinity
            try h5.write(value, to: "params/\(name)", filters: .checksummed)
            try h5.writeAttribute("offset", offset, at: "params/\(name)")
        }
        assertCheckpointError({ try CheckpointFile.read(file, as: Float.self) }, mentions: ["patched.h5", "params/\(name)", "index 0"]) {
            if case .nonFinite = $0 { return true } else { return false }
        }
    }

    // MARK: Directory: atomic saves, latest, pruning

    func testLatestSkipsStaleTemporaryAndTruncatedNewerFiles() throws {
        let run = CheckpointDirectory(path: path("run"), keepLast: 5)
        let (checkpoint, _) = try sampleCheckpoint()
        for step: Int64 in [100, 200] {
            var c = checkpoint
            c.step = step
            try run.save(c)
        }
        // A crash mid-write: a stale temporary file of a newer step, and a newer checkpoint
        // that never got all its bytes (as if written without the temporary-file protocol).
        let good = try Data(contentsOf: URL(fileURLWithPath: path("run/checkpoint-00000200.h5")))
        try good.prefix(good.count / 3).write(to: URL(fileURLWithPath: path("run/.checkpoint-00000300.h5.tmp-4242")))
        try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: path("run/checkpoint-00000300.h5")))
        try "junk".write(toFile: path("run/checkpoint-00000250.h5"), atomically: true, encoding: .utf8)

        let search = run.latest(as: Float.self)
        XCTAssertEqual(search.path, path("run/checkpoint-00000200.h5"))
        XCTAssertEqual(search.checkpoint?.step, 200)
        XCTAssertEqual(search.rejected.map(\.file), [path("run/checkpoint-00000300.h5"), path("run/checkpoint-00000250.h5")])
        XCTAssertEqual(search.temporaryFiles, [path("run/.checkpoint-00000300.h5.tmp-4242")])
        for error in search.rejected { XCTAssertFalse(error.description.contains("\n")) }

        let empty = CheckpointDirectory(path: path("nothing-here")).latest(as: Float.self)
        XCTAssertNil(empty.checkpoint)
        XCTAssertTrue(empty.rejected.isEmpty)
    }

    func testSaveKeepsTheLastKAndNeverDeletesTheNewFile() throws {
        let run = CheckpointDirectory(path: path("prune"), keepLast: 2)
        let (checkpoint, _) = try sampleCheckpoint()
        var reports: [CheckpointDirectory.SaveReport] = []
        for step: Int64 in [1, 2, 3, 4] {
            var c = checkpoint
            c.step = step
            reports.append(try run.save(c))
        }
        XCTAssertEqual(run.checkpointFiles().map(\.step), [4, 3])
        XCTAssertEqual(reports[2].removed, [path("prune/checkpoint-00000001.h5")])
        XCTAssertEqual(reports[3].removed, [path("prune/checkpoint-00000002.h5")])
        XCTAssertTrue(reports.allSatisfy(\.notRemoved.isEmpty))
        let names = try FileManager.default.contentsOfDirectory(atPath: path("prune"))
        XCTAssertFalse(names.contains { $0.contains(".tmp-") }, "temporary files left behind: \(names)")

        // A run resumed from an older step: its new checkpoint survives the pruning.
        var older = checkpoint
        older.step = 2
        try run.save(older)
        XCTAssertEqual(run.checkpointFiles().map(\.step), [4, 2])
        XCTAssertEqual(run.latest(as: Float.self).checkpoint?.step, 4)
        XCTAssertEqual(CheckpointDirectory.fileName(step: 123_456_789), "checkpoint-123456789.h5")
        XCTAssertEqual(CheckpointDirectory.step(fromFileName: "checkpoint-00000042.h5"), 42)
        XCTAssertNil(CheckpointDirectory.step(fromFileName: ".checkpoint-00000042.h5.tmp-7"))
    }

    func testH5dumpReadsACheckpoint() throws {
        let tool = "/usr/bin/h5dump"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("h5dump is not installed") }
        let file = try writtenSample("dump.h5")
        let output = try runTool(tool, ["-p", "-A", file])
        for fragment in ["\"dnc-swift checkpoint\"", "format_version", "GROUP \"params\"", "GROUP \"optimizer\"",
                         "exp_avg_sq", "GROUP \"state\"", "curriculum_level", "H5T_IEEE_F32LE", "CHECKSUM FLETCHER32",
                         "\"adam\"", "H5T_ENUM"] {
            XCTAssertTrue(output.contains(fragment), "h5dump output lacks \(fragment):\n\(output.prefix(4000))")
        }
        XCTAssertEqual(try runTool(tool, [file]).isEmpty, false)
    }

    // MARK: Debug dump

    func testDebugDumpWritesTwoStepsReadableByPlainHDF5() throws {
        var c = DNCConfiguration(inputSize: 3, hiddenSize: 6)
        c.cellCount = 5
        c.cellWidth = 4
        c.readHeads = 2
        c.layerCount = 2
        let model = DNC<Float>(c, seed: 2)
        let input = Tensor<Float>(shape: [2, 4, 3], storage: (0..<24).map { Float($0 % 5) * 0.2 - 0.4 })
        let trace = try XCTUnwrap(model.forward(input, recordForBackward: false, debug: true, debugBatchElement: 1).trace)

        let runDirectory = path("debug-run")
        let writer = try DebugDumpWriter(runDirectory: runDirectory, rank: 3)
        try writer.write(step: 10, trace: trace)
        // A second step given as plain key → sequence dictionaries, in two chunks of time.
        let custom: [String: [Tensor<Float>]] = ["memory": (0..<2).map { t in Tensor(shape: [5, 4], storage: (0..<20).map { Float(t * 20 + $0) }) }]
        try writer.write(step: 11, batchElement: 0, layers: [custom])
        try writer.write(step: 11, batchElement: 0, layers: [["memory": [Tensor<Float>(shape: [5, 4], repeating: 9)]]])
        XCTAssertThrowsError(try writer.write(step: 11, batchElement: 1, layers: [custom]))
        try writer.close()

        let h5 = try HDF5File(path: runDirectory + "/debug-rank3.h5")
        XCTAssertEqual(try h5.readAttribute("format", as: String.self), "dnc-swift debug dump")
        XCTAssertEqual(try h5.readAttribute("rank", as: Int.self), 3)
        XCTAssertEqual(try h5.children(), ["step_00000010", "step_00000011"])
        // Beside the layers, the step group holds the dimension scales of their axes.
        XCTAssertEqual(try h5.children(of: "step_00000010").filter { $0.hasPrefix("layer_") }, ["layer_0", "layer_1"])
        XCTAssertTrue(try h5.isDimensionScale("step_00000010/cell"))
        XCTAssertEqual(try h5.readInts("step_00000010/time").values, [0, 1, 2, 3])
        XCTAssertEqual(try h5.readInts("step_00000011/time").values, [0, 1, 2], "the time dimension grows with appended steps")
        XCTAssertEqual(try h5.readAttribute("batch_element", at: "step_00000010", as: Int.self), 1)
        XCTAssertEqual(try h5.readAttribute("format_version", as: Int.self), 2)
        XCTAssertEqual(try h5.readAttribute("format_version", at: "step_00000010", as: Int.self), 2)
        let expectedAxes = ["memory": "time,cell,word", "link_matrix": "time,cell_to,cell_from", "precedence": "time,one,cell",
                            "read_weights": "time,head,cell", "write_weights": "time,one,cell", "usage_vector": "time,one,cell",
                            "allocation_weights": "time,one,cell", "read_modes": "time,head,mode", "write_gate": "time,one,gate",
                            "free_gates": "time,one,head"]
        for layer in 0..<2 {
            for key in DNCTrace<Float>.denseMemoryKeys {
                let object = "step_00000010/layer_\(layer)/\(key)"
                let sequence = trace.records.map { $0[layer].fields.first { $0.key == key }!.value }
                let stored = try h5.readTensor(object, as: Float.self)
                XCTAssertEqual(stored.shape, [4] + sequence[0].shape, object)
                XCTAssertEqual(stored.storage, sequence.flatMap(\.storage), object)
                XCTAssertEqual(try h5.readAttribute("axes", at: object, as: String.self), expectedAxes[key], object)
                XCTAssertEqual(try h5.readAttribute("step", at: object, as: Int.self), 10)
                XCTAssertEqual(try h5.readAttribute("batch_element", at: object, as: Int.self), 1)
                XCTAssertEqual(try h5.filters(of: object).deflateLevel, 4)
                XCTAssertEqual(try h5.maxShape(of: object).first, .some(nil), "time axis is extendible")
                XCTAssertEqual(try h5.dimensionNames(of: object), expectedAxes[key]!.split(separator: ",").map(String.init), object)
            }
        }
        let memory = try h5.readTensor("step_00000011/layer_0/memory", as: Float.self)
        XCTAssertEqual(memory.shape, [3, 5, 4])
        XCTAssertEqual(Array(memory.storage.prefix(40)), (0..<40).map(Float.init))
        XCTAssertEqual(Array(memory.storage.suffix(20)), Array(repeating: 9, count: 20))
        XCTAssertEqual(try h5.readAttribute("modes", at: "step_00000010/layer_0/read_modes", as: String.self), "backward,forward,content")
        XCTAssertEqual(try h5.openObjectCount(), 0)
        try h5.close()

        // Reopening appends to the same file (a resumed run).
        let again = try DebugDumpWriter(runDirectory: runDirectory, rank: 3)
        try again.write(step: 12, batchElement: 0, layers: [custom])
        try again.close()
        XCTAssertEqual(try HDF5File(path: runDirectory + "/debug-rank3.h5").children().count, 3)
    }

    // MARK: Helpers

    private func writtenSample(_ name: String) throws -> String {
        let file = path(name)
        try CheckpointFile.write(try sampleCheckpoint().0, to: file)
        return file
    }

    /// Edits a checkpoint with the plain HDF5 layer, as a damaged or hand-modified file would be.
    private func edit(_ file: String, _ body: (HDF5File) throws -> Void) throws {
        let h5 = try HDF5File(path: file, mode: .readWrite)
        try body(h5)
        try h5.close()
    }
}

/// Asserts that `body` throws a `CheckpointError` accepted by `matches`, described in one line
/// that mentions every fragment.
private func assertCheckpointError<R>(_ body: () throws -> R, mentions: [String], file: StaticString = #filePath,
                                      line: UInt = #line, _ matches: (CheckpointError) -> Bool) {
    assertOneLineError(CheckpointError.self, body, mentions: mentions, file: file, line: line, matches)
}

import XCTest
import Foundation
import DNCModels
import DNCMemories
import DNCNumerics
import DNCTraining

/// `DNC.save(to:)` and `DNC.load(checkpoint:)`: the same model back (configuration, parameters,
/// outputs) for the dense, SAM and SDNC memories, `Float` and `Double`; dnc-dist's checkpoints
/// read too; what cannot be saved or loaded refused with the file named.
final class DNCSaveLoadTests: XCTestCase {
    var directory: URL!

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnc-save-load-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func configurations() -> [DNCConfiguration] {
        var dense = DNCConfiguration(inputSize: 5, hiddenSize: 9)
        dense.outputSize = 3
        dense.cell = .gru
        dense.layerCount = 2
        dense.shareMemoryBetweenLayers = false
        dense.cellCount = 6
        dense.cellWidth = 4
        dense.controllerOutputClip = 7.5
        dense.preset = .pytorchCompat
        dense.batchFirst = false
        var sam = DNCConfiguration(inputSize: 4, hiddenSize: 8)
        sam.cell = .rnn(.relu)
        sam.cellCount = 12
        sam.memoryKind = .sparse(reads: 3, index: .exact)
        var sdnc = DNCConfiguration(inputSize: 4, hiddenSize: 8)
        sdnc.cellCount = 10
        sdnc.memoryKind = .sparseTemporal(reads: 2, temporalReads: 3, index: .approximate(ApproximateIndexOptions(lists: 3, probes: 2)))
        sdnc.independentLinears = true
        return [dense, sam, sdnc]
    }

    func roundTrip<T: Real>(_ type: T.Type) throws {
        for (index, configuration) in configurations().enumerated() {
            let model = DNC<T>(configuration, seed: 7)
            let file = path("model-\(T.self)-\(index).h5")
            try model.save(to: file, step: 42)
            let restored = try DNC<T>.load(checkpoint: file)
            XCTAssertEqual(restored.configuration, configuration)
            XCTAssertEqual(restored.store.slots.map(\.name), model.store.slots.map(\.name))
            XCTAssertEqual(Array(UnsafeBufferPointer(start: restored.store.values, count: restored.store.count)),
                           Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count)))
            XCTAssertEqual(try CheckpointFile.read(file, as: T.self).step, 42)
            let batchFirst = configuration.batchFirst
            let input = Tensor<T>(shape: batchFirst ? [2, 3, configuration.inputSize] : [3, 2, configuration.inputSize],
                                  storage: (0..<(6 * configuration.inputSize)).map { T(Double($0 % 7) / 7 - 0.4) })
            let expected = model.forward(input, recordForBackward: false).output
            let output = restored.forward(input, recordForBackward: false).output
            // The compat preset's random initial state: the same seed, and both models' first draw.
            XCTAssertEqual(output.storage, expected.storage, "configuration \(index)")
        }
    }

    func testFloatModelsComeBackTheSame() throws { try roundTrip(Float.self) }

    func testDoubleModelsComeBackTheSame() throws { try roundTrip(Double.self) }

    func testDNCDistCheckpointsLoad() throws {
        var training = TrainingConfiguration()
        training.task = "copy"
        training.nhid = 10
        training.mem_slot = 6
        training.mem_size = 4
        let setup = try TrainingSetup(training)
        let json = String(decoding: try JSONEncoder().encode(training), as: UTF8.self)
        let file = path("trainer.h5")
        try CheckpointFile.write(Checkpoint(step: 3, store: setup.model.parameters, optimiser: nil,
                                            configuration: ["configuration_json": .string(json)]), to: file)
        let model = try DNC<Float>.load(checkpoint: file)
        let input = Tensor<Float>(shape: [4, 2, setup.task.inputSize], repeating: 0.25)
        XCTAssertEqual(model.infer(input, lengths: nil).storage, setup.model.infer(input, lengths: nil).storage)

        training.memory_type = .controllerOnly
        let controller = try TrainingSetup(training)
        let controllerFile = path("controller.h5")
        try CheckpointFile.write(Checkpoint(step: 3, store: controller.model.parameters, optimiser: nil,
                                            configuration: ["configuration_json": .string(String(decoding: try JSONEncoder().encode(training), as: UTF8.self))]),
                                 to: controllerFile)
        XCTAssertThrowsError(try DNC<Float>.load(checkpoint: controllerFile)) { error in
            XCTAssertTrue("\(error)".contains(controllerFile) && "\(error)".contains("controller-only"), "\(error)")
        }
    }

    func testWhatCannotBeSavedOrLoadedIsRefused() throws {
        var configuration = DNCConfiguration(inputSize: 3, hiddenSize: 4)
        let model = DNC<Float>(configuration, seed: 1)
        let file = path("model.h5")
        try model.save(to: file)
        XCTAssertThrowsError(try model.save(to: file), "an existing file is never overwritten")
        XCTAssertThrowsError(try DNC<Double>.load(checkpoint: file)) { error in
            XCTAssertTrue("\(error)".contains("float32"), "\(error)")
        }
        configuration.memoryOptionsOverride = .pytorchCompat
        XCTAssertThrowsError(try DNC<Float>(configuration).save(to: path("override.h5"))) { error in
            XCTAssertTrue("\(error)".contains("memoryOptionsOverride"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("override.h5")))
        // A checkpoint without a model configuration.
        let bare = path("bare.h5")
        try CheckpointFile.write(Checkpoint(step: 0, store: model.store, optimiser: nil), to: bare)
        XCTAssertThrowsError(try DNC<Float>.load(checkpoint: bare)) { error in
            XCTAssertTrue("\(error)".contains(bare) && "\(error)".contains("no model configuration"), "\(error)")
        }
    }
}

import XCTest
import Foundation
import TestSupport
import DNCNumerics
import DNCLayers
import DNCMemories
@testable import DNCTraining
@testable import DNCModels

/// DNC-MD's options through the whole model (docs/dense-memory.md, "DNC-MD options"): that each
/// option reaches the memory, that a default configuration is the DNC, the refusal with SAM and
/// the SDNC, and checkpoints. (Finite differences through the DNC: `DNCGradientTests.testDNCMD…`.)
final class DNCImprovementsTests: XCTestCase {
    static let each: [(String, MemoryImprovements)] = [
        ("masked_lookup", MemoryImprovements(maskedContentLookup: true)),
        ("deallocation", MemoryImprovements(deallocation: true)),
        ("link_sharpness", MemoryImprovements(linkSharpness: true)),
        ("all three", .all),
    ]

    func configuration(_ improvements: MemoryImprovements) -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 3, hiddenSize: 6)
        c.cellCount = 5
        c.cellWidth = 3
        c.readHeads = 2
        c.memoryImprovements = improvements
        return c
    }

    func input(_ c: DNCConfiguration, steps: Int = 5, batch: Int = 2) -> Tensor<Double> {
        Tensor(shape: [batch, steps, c.inputSize],
               storage: (0..<(batch * steps * c.inputSize)).map { sin(Double($0) * 1.3) })
    }

    func output(_ improvements: MemoryImprovements, seed: UInt64 = 3) -> Tensor<Double> {
        let c = configuration(improvements)
        return DNC<Double>(c, seed: seed).forward(input(c), recordForBackward: false).output
    }

    func testEachOptionChangesTheOutput() {
        let plain = output(.none)
        for (name, improvements) in Self.each {
            let changed = output(improvements)
            XCTAssertEqual(changed.shape, plain.shape)
            let difference = zip(changed.storage, plain.storage).map { abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(difference, 1e-6, name)
        }
    }

    func testTheDefaultIsTheDNC() {
        let c = DNCConfiguration(inputSize: 3, hiddenSize: 6)
        XCTAssertEqual(c.memoryImprovements, .none)
        XCTAssertEqual(c.memoryOptions, .paper)
        var compat = c
        compat.preset = .pytorchCompat
        XCTAssertEqual(compat.memoryOptions, .pytorchCompat)
        // An override's options are kept and the configuration's switches added.
        var override = configuration(MemoryImprovements(deallocation: true))
        var options = MemoryOptions.paper
        options.stopGradientThroughUsage = false
        options.improvements.linkSharpness = true
        override.memoryOptionsOverride = options
        XCTAssertEqual(override.memoryOptions.improvements, MemoryImprovements(deallocation: true, linkSharpness: true))
        XCTAssertFalse(override.memoryOptions.stopGradientThroughUsage)
    }

    func testRefusedWithTheSparseMemories() {
        for kind in [MemoryKind.sparse(reads: 2, index: .exact), .sparseTemporal(reads: 2, temporalReads: 2, index: .exact)] {
            for (name, improvements) in Self.each {
                var c = configuration(improvements)
                c.memoryKind = kind
                let problem = c.validationError() ?? ""
                let first = name == "all three" ? "masked_lookup" : name
                XCTAssertTrue(problem.hasPrefix("\(first) must be false unless the memory is the DNC's dense one"), problem)
                XCTAssertFalse(problem.contains("\n"))
            }
            var plain = configuration(.none)
            plain.memoryKind = kind
            XCTAssertNil(plain.validationError())
        }
    }

    func testCheckpointsKeepTheOptionsAndOldOnesReadAsOff() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dncmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (index, (name, improvements)) in Self.each.enumerated() {
            let c = configuration(improvements)
            let model = DNC<Double>(c, seed: 5)
            let file = directory.appendingPathComponent("model-\(index).h5").path
            try model.save(to: file, step: 1)
            let restored = try DNC<Double>.load(checkpoint: file)
            XCTAssertEqual(restored.configuration.memoryImprovements, improvements, name)
            XCTAssertEqual(restored.forward(input(c), recordForBackward: false).output,
                           model.forward(input(c), recordForBackward: false).output, name)
        }
        // A DNC's attributes name none of the three (what older files hold), and read back as off.
        let attributes = try configuration(.none).checkpointAttributes(file: "x.h5")
        XCTAssertTrue(attributes.keys.filter { ["dnc.masked_lookup", "dnc.deallocation", "dnc.link_sharpness"].contains($0) }.isEmpty)
        XCTAssertEqual(try DNCConfiguration(checkpointAttributes: attributes, file: "x.h5").memoryImprovements, .none)
        var on = try configuration(.all).checkpointAttributes(file: "y.h5")
        XCTAssertEqual(on["dnc.deallocation"], .bool(true))
        on["dnc.deallocation"] = .int(1)
        XCTAssertThrowsError(try DNCConfiguration(checkpointAttributes: on, file: "y.h5"))
    }

    /// dnc-dist's configuration keys map to the model's options; a file without them (an older run) is off.
    func testTrainingConfigurationMapsTheKeys() throws {
        var t = TrainingConfiguration.defaults(task: "copy")
        XCTAssertEqual(t.dncConfiguration(inputSize: 6, outputSize: 6).memoryImprovements, .none)
        t.masked_lookup = true
        t.link_sharpness = true
        XCTAssertEqual(t.dncConfiguration(inputSize: 6, outputSize: 6).memoryImprovements,
                       MemoryImprovements(maskedContentLookup: true, linkSharpness: true))
        let old = try XCTUnwrap(TrainingConfiguration.decode(json: "{\"task\":\"copy\",\"nhid\":16}"))
        XCTAssertFalse(old.masked_lookup || old.deallocation || old.link_sharpness)
        t.memory_type = .sam
        XCTAssertEqual(t.validationError(), "masked_lookup must be false unless the memory is the DNC's dense one, got true with a sparse memory (SAM, SDNC)")
        t.memory_type = .controllerOnly
        XCTAssertEqual(t.validationError(), "masked_lookup must be false unless the memory is the DNC's dense one, got true with memory_type none")
    }
}

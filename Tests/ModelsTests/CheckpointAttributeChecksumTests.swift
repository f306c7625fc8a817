import DNCLayers
import DNCNumerics
import DNCTraining
import Foundation
import XCTest

/// The checksum over a checkpoint's attributes: configuration, state, optimiser and parameter
/// names, which HDF5 keeps partly in structures without checksums of their own.
final class CheckpointAttributeChecksumTests: XCTestCase {
    func sampleCheckpoint() -> Checkpoint<Float> {
        Checkpoint(step: 12, configuration: ["configuration_json": .string("{\"nhid\":16,\"task\":\"copy\"}"), "lr": .double(0.003),
                                             "nhid": .int(16), "debug": .bool(true)],
                   parameters: [CheckpointParameter(name: "w", value: Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6]))],
                   optimiser: OptimiserState(algorithm: "adam", step: 12, buffers: ["exp_avg": [Float](repeating: 0.5, count: 6)]),
                   counters: ["max_length": 4, "seed": 1], scalars: ["running": 0.25])
    }

    /// A bit flipped in the configuration (a variable-length string: HDF5 keeps it in the global
    /// heap, which has no checksum) is detected, not loaded as another experiment.
    func testFlippedBitsInAttributesAreDetected() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("attributes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pristine = directory.appendingPathComponent("pristine.h5").path
        let checkpoint = sampleCheckpoint()
        try CheckpointFile.write(checkpoint, to: pristine)
        XCTAssertEqual(try CheckpointFile.read(pristine, as: Float.self), checkpoint)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pristine))
        let json = try XCTUnwrap(bytes.range(of: Data("\"nhid\":16".utf8)), "the configuration string is in the file")
        for (offset, bit) in [(json.lowerBound + 8, UInt8(0x01)), (json.lowerBound + 1, UInt8(0x20))] {
            var copy = bytes
            copy[offset] ^= bit
            let damaged = directory.appendingPathComponent("flipped.h5").path
            try copy.write(to: URL(fileURLWithPath: damaged))
            XCTAssertThrowsError(try CheckpointFile.read(damaged, as: Float.self), "a flipped bit at \(offset) was loaded") { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains("flipped.h5") && text.contains("checksum"), text)
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
        // The checksum itself covers every kind of attribute value.
        var other = checkpoint
        other.counters["max_length"] = 5
        XCTAssertNotEqual(other.attributesChecksum, checkpoint.attributesChecksum)
        other = checkpoint
        other.scalars["running"] = 0.5
        XCTAssertNotEqual(other.attributesChecksum, checkpoint.attributesChecksum)
        other = checkpoint
        other.configuration["debug"] = .bool(false)
        XCTAssertNotEqual(other.attributesChecksum, checkpoint.attributesChecksum)
        other = checkpoint
        other.optimiser?.step = 13
        XCTAssertNotEqual(other.attributesChecksum, checkpoint.attributesChecksum)
    }


    /// A flipped high bit in the size of a global heap object (variable-length strings; HDF5
    /// keeps no checksum there and trusts the size) is reported as damage, not a crash in memcpy.
    func testDamagedGlobalHeapSizesAreReportedNotCrashed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("heap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pristine = directory.appendingPathComponent("pristine.h5").path
        try CheckpointFile.write(sampleCheckpoint(), to: pristine)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: pristine))
        let heap = try XCTUnwrap(bytes.range(of: Data("GCOL".utf8))?.lowerBound, "a global heap collection")
        // The first object's size: 8 bytes at collection + 16 (header) + 8 (index, count, reserved).
        for byte in [6, 7] {
            var copy = bytes
            copy[heap + 16 + 8 + byte] ^= 0x01
            let damaged = directory.appendingPathComponent("heap.h5").path
            try copy.write(to: URL(fileURLWithPath: damaged))
            XCTAssertThrowsError(try CheckpointFile.read(damaged, as: Float.self)) { error in
                XCTAssertTrue(String(describing: error).contains("global heap"), String(describing: error))
            }
        }
    }
}

import DNCStorage
import DNCTraining
import Foundation
import TestSupport
import XCTest

/// Numbers in a run's files are numbers: checkpoint configuration attributes and eval.h5's step
/// have their own HDF5 types; checkpoints written by earlier versions (every setting a string)
/// still resume.
final class TypedAttributesTests: XCTestCase {
    let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "6", "-read_heads", "2", "-batch_size", "4", "-lr", "0.003",
                 "-summarize_freq", "5", "-check_freq", "5", "-eval_lengths", "2,3", "-eval_batches", "1"]

    func testCheckpointAndEvalAttributesAreTypedAndStringCheckpointsStillResume() throws {
        let run = Executables.temporaryDirectory("typed")
        defer { try? FileManager.default.removeItem(at: run) }
        let first = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "5", "--run-dir", run.path])
        XCTAssertEqual(first.status, 0, first.error)

        let path = run.appendingPathComponent("checkpoints/checkpoint-00000005.h5").path
        let checkpoint = try CheckpointFile.read(path, as: Float.self)
        XCTAssertEqual(checkpoint.configuration["batch_size"], .int(4))
        XCTAssertEqual(checkpoint.configuration["lr"], .double(0.003))
        XCTAssertEqual(checkpoint.configuration["debug"], .bool(false))
        XCTAssertEqual(checkpoint.configuration["seed"], .int(1))
        XCTAssertEqual(checkpoint.configuration["task"], .string("copy"))
        XCTAssertEqual(checkpoint.configuration["memory_type"], .string("dnc"))

        let eval = try HDF5File(path: run.appendingPathComponent("eval.h5").path)
        XCTAssertEqual(try eval.attributeElementType("step"), .integer(bytes: 8, signed: true))
        XCTAssertEqual(try eval.readAttribute("step", as: Int.self), 5)
        XCTAssertEqual(try eval.readAttribute("task", as: String.self), "copy")
        XCTAssertTrue(try eval.isDimensionScale("length"))
        XCTAssertEqual(try eval.dimensionNames(of: "loss"), ["length"])
        XCTAssertEqual(try eval.dimensionNames(of: "metrics/bit_errors"), ["length"])
        try eval.close()

        // The previous version's checkpoint: the same contents, every setting a string (its
        // checksum computed over the strings, as that version did).
        var old = checkpoint
        for (key, value) in old.configuration {
            switch value {
            case .string: break
            case .int(let n): old.configuration[key] = .string(String(n))
            case .double(let d): old.configuration[key] = .string(String(d))
            case .bool(let b): old.configuration[key] = .string(String(b))
            }
        }
        try FileManager.default.removeItem(atPath: path)
        try CheckpointFile.write(old, to: path)
        XCTAssertEqual(try CheckpointFile.read(path, as: Float.self).configuration["batch_size"], .string("4"))
        let resumed = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "10", "--resume", "--run-dir", run.path])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.error.contains("resumed from") || resumed.output.contains("resumed from"), resumed.error)
        let newest = try CheckpointFile.read(run.appendingPathComponent("checkpoints/checkpoint-00000010.h5").path, as: Float.self)
        XCTAssertEqual(newest.configuration["batch_size"], .int(4), "a resumed run writes typed attributes")
    }

    /// Every dataset of eval.h5 and of a checkpoint has named dimensions for xarray (the
    /// script fails on any unnamed axis).
    func testEvalAndCheckpointDimensionsAreNamedForXarray() throws {
        guard let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] else {
            throw XCTSkip("DNC_TEST_PYTHON (a Python with h5py, xarray and h5netcdf, set up by scripts/test.sh) is not set")
        }
        let run = Executables.temporaryDirectory("typed-xr")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "5", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        let eval = run.appendingPathComponent("eval.h5").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/check_named_dimensions.py")
        let checkpoint = run.appendingPathComponent("checkpoints/checkpoint-00000005.h5").path
        let checked = try Executables.run(executable: URL(fileURLWithPath: python), [script.path, eval, checkpoint])
        XCTAssertEqual(checked.status, 0, checked.error)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(checked.output.utf8)) as? [String: [String: [String: [String: Any]]]])
        let root = try XCTUnwrap(json[eval]?["/"], checked.output)
        XCTAssertEqual(root["loss"]?["dims"] as? [String], ["length"])
        XCTAssertEqual(root["length"]?["dtype"] as? String, "int64")
        XCTAssertEqual(json[eval]?["metrics"]?["bit_errors"]?["dims"] as? [String], ["length"])
        let optimiser = try XCTUnwrap(json[checkpoint]?["optimizer"], checked.output)
        XCTAssertEqual(optimiser["exp_avg"]?["dims"] as? [String], ["element"])
        let params = try XCTUnwrap(json[checkpoint]?["params"], checked.output)
        XCTAssertFalse(params.isEmpty)
        for (name, entry) in params where !(entry["dims"] as? [String] ?? []).isEmpty {
            XCTAssertEqual((entry["dims"] as? [String])?.first, "\(name)_axis0", name)
        }
        // The checkpoint still reads, dimension scales and all.
        XCTAssertNoThrow(try CheckpointFile.read(checkpoint, as: Float.self))
    }
}

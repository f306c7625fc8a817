import XCTest
import TestSupport
import DNCTraining

/// DNC-MD's options on `dnc-dist train` (docs/dense-memory.md, "DNC-MD options"):
/// experiments/babi-dncmd.json trains on a handmade bAbI set (at small sizes), the options are
/// stored with the run and its checkpoints so `eval` rebuilds the same model, and they are
/// refused with SAM, the SDNC and no memory, in one line with exit code 2 before any work.
final class DNCMDCommandTests: XCTestCase {
    static let experiment = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("experiments/babi-dncmd.json")

    func testBabiDNCMDExperimentTrainsAndEvalRebuildsTheModel() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("dncmd-data"), sets: ["en-10k"])
        let run = Executables.temporaryDirectory("dncmd-run")
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: run) }
        let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "8", "-read_heads", "2", "-summarize_freq", "2",
                     "-check_freq", "4", "-eval_freq", "0"]
        let result = try Executables.run("dnc-dist", ["train", "babi", "--config", Self.experiment.path, "--data", root.path,
                                                      "-tasks", "1,8", "-iterations", "4", "--run-dir", run.path] + small)
        XCTAssertEqual(result.status, 0, result.error)
        let configuration = try XCTUnwrap(TrainingConfiguration.decode(json: String(
            contentsOf: run.appendingPathComponent("configuration.json"), encoding: .utf8)))
        XCTAssertTrue(configuration.masked_lookup && configuration.deallocation && configuration.link_sharpness)
        let csv = try String(contentsOf: run.appendingPathComponent("eval.csv"), encoding: .utf8)
        let checkpoint = run.appendingPathComponent("checkpoints/checkpoint-00000004.h5").path
        let output = run.appendingPathComponent("again")
        let eval = try Executables.run("dnc-dist", ["eval", "--checkpoint", checkpoint, "--output", output.path])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertEqual(try String(contentsOf: output.appendingPathExtension("csv"), encoding: .utf8), csv)
    }

    func testRefusedWithoutTheDenseMemory() throws {
        let parent = Executables.temporaryDirectory("dncmd-refused")
        defer { try? FileManager.default.removeItem(at: parent) }
        let run = parent.appendingPathComponent("run")
        let cases: [([String], String)] = [
            (["-memory_type", "sam", "-masked_lookup", "true"],
             "masked_lookup must be false unless the memory is the DNC's dense one, got true with a sparse memory (SAM, SDNC)"),
            (["-memory_type", "sdnc", "-link_sharpness", "true"],
             "link_sharpness must be false unless the memory is the DNC's dense one, got true with a sparse memory (SAM, SDNC)"),
            (["-memory_type", "sam", "-deallocation", "true"],
             "deallocation must be false unless the memory is the DNC's dense one, got true with a sparse memory (SAM, SDNC)"),
            (["-memory_type", "none", "-deallocation", "true"],
             "deallocation must be false unless the memory is the DNC's dense one, got true with memory_type none"),
        ]
        for (flags, message) in cases {
            let result = try Executables.run("dnc-dist", ["train", "copy", "--run-dir", run.path] + flags)
            XCTAssertEqual(result.status, 2, "\(flags)")
            XCTAssertEqual(result.error.trimmingCharacters(in: .whitespacesAndNewlines), "error: " + message, "\(flags)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "nothing created for \(flags)")
        }
    }
}

import XCTest
import TestSupport
import DNCTraining
import DNCMemories
import DNCModels

/// `-index_probes P`: the approximate index's probes per query reach the model, are stored with
/// the run, and are refused where no approximate index would use them.
final class IndexProbesOptionTests: XCTestCase {
    func testProbesReachTheApproximateIndex() throws {
        var c = TrainingConfiguration.defaults(task: "copy")
        c.memory_type = .sam
        c.sparse_reads = 4
        c.index = .approximate
        c.index_probes = 96
        XCTAssertEqual(c.dncConfiguration(inputSize: 6, outputSize: 6).memoryKind,
                       .sparse(reads: 4, index: .approximate(ApproximateIndexOptions(probes: 96))))
        c.index_probes = 0
        XCTAssertEqual(c.dncConfiguration(inputSize: 6, outputSize: 6).memoryKind,
                       .sparse(reads: 4, index: .approximate(ApproximateIndexOptions())), "0 keeps the index's default")
        c.index_probes = -1
        XCTAssertEqual(c.validationError(), TrainingConfiguration.defaults(task: "copy").with { $0.index_probes = -1 }.validationError())
        XCTAssertTrue(c.validationError()?.contains("index_probes") ?? false, c.validationError() ?? "accepted")
    }

    func testInertProbesAreRefusedInOneLine() throws {
        let run = Executables.temporaryDirectory("probes")
        defer { try? FileManager.default.removeItem(at: run) }
        for arguments in [["-index_probes", "64"], ["-memory_type", "sam", "-sparse_reads", "2", "-index", "exact", "-index_probes", "64"],
                          ["-memory_type", "sam", "-sparse_reads", "2", "-mem_slot", "100", "-index_probes", "64"]] {
            let refused = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "1", "--run-dir", run.path] + arguments)
            XCTAssertEqual(refused.status, 2, "\(arguments): \(refused.output)")
            XCTAssertEqual(refused.error.split(separator: "\n").count, 1, refused.error)
            XCTAssertTrue(refused.error.contains("-index_probes 64 has no effect"), refused.error)
        }
        let accepted = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "2", "-memory_type", "sam", "-sparse_reads", "2",
                                                        "-index", "approximate", "-index_probes", "8", "-nhid", "8", "-mem_slot", "64",
                                                        "-mem_size", "4", "-batch_size", "2", "-eval_lengths", "2", "-eval_batches", "1",
                                                        "--run-dir", run.path])
        XCTAssertEqual(accepted.status, 0, accepted.error)
        let checkpoint = try CheckpointFile.read(run.appendingPathComponent("checkpoints/checkpoint-00000002.h5").path, as: Float.self)
        guard case .string(let json)? = checkpoint.configuration["configuration_json"] else { return XCTFail("no configuration in the checkpoint") }
        XCTAssertEqual(TrainingConfiguration.decode(json: json)?.index_probes, 8)
    }
}

private extension TrainingConfiguration {
    func with(_ change: (inout TrainingConfiguration) -> Void) -> TrainingConfiguration {
        var c = self
        change(&c)
        return c
    }
}

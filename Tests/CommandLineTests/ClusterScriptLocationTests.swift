import Foundation
import TestSupport
import XCTest

/// The batch scripts find the checkout when Slurm runs them as a copy in its spool directory
/// from a job submitted elsewhere, and pass paths that do not depend on the checkout being the
/// working directory. Slurm itself is stood in for by `scontrol` and `srun` stubs on PATH (the
/// real-cluster tests are in DistributedTests).
final class ClusterScriptLocationTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a spooled copy of `script` from an unrelated submit directory; returns the exit
    /// status, stderr and the arguments the srun stub saw.
    func runSpooled(_ script: String, scontrolCommand: String?, environment: [String: String] = [:]) throws
        -> (status: Int32, error: String, srun: String) {
        let base = Executables.temporaryDirectory("spool")
        defer { try? FileManager.default.removeItem(at: base) }
        let spool = base.appendingPathComponent("spool/job42"), submit = base.appendingPathComponent("elsewhere")
        let bin = base.appendingPathComponent("bin")
        for directory in [spool, submit, bin] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: root.appendingPathComponent("cluster/\(script)"), to: spool.appendingPathComponent("slurm_script"))
        let seen = base.appendingPathComponent("srun-arguments")
        let stubs = [
            "scontrol": scontrolCommand.map { "echo 'JobId=42 JobName=dnc-dist'; echo '   Command=\($0)'" } ?? "exit 1",
            "srun": "echo \"$@\" > '\(seen.path)'",
        ]
        for (name, body) in stubs {
            let url = bin.appendingPathComponent(name)
            try "#!/usr/bin/env bash\n\(body)\n".write(to: url, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        }
        let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try Executables.run(executable: URL(fileURLWithPath: "/bin/bash"),
                                         ["-c", "cd '\(submit.path)' && bash '\(spool.path)/slurm_script'"],
                                         environment: ["PATH": path, "DNC_HOME": "", "SLURM_JOB_ID": "42",
                                                       "SLURM_SUBMIT_DIR": submit.path, "DNC_DIST": "/bin/true"]
                                            .merging(environment) { $1 })
        return (result.status, result.error, (try? String(contentsOf: seen, encoding: .utf8)) ?? "")
    }

    func testBatchScriptsFindTheCheckoutFromTheSubmittedPath() throws {
        for script in ["slurm-single-node.sbatch", "slurm-multi-node.sbatch", "slurm-requeue.sbatch"] {
            let run = try runSpooled(script, scontrolCommand: root.appendingPathComponent("cluster/\(script)").path,
                                     environment: script.contains("requeue") ? ["RUN_DIR": "runs/long"] : [:])
            XCTAssertEqual(run.status, 0, "\(script): \(run.error)")
            XCTAssertTrue(run.srun.contains("--config \(root.path)/experiments/copy-L10.json"), "\(script): \(run.srun)")
            XCTAssertTrue(run.srun.contains("--run-dir runs/\(script.contains("requeue") ? "long" : "slurm-42")"), "\(script): \(run.srun)")
        }
    }

    func testDNCHomeWinsAndAMissingCheckoutIsOneLineExit2() throws {
        let chosen = try runSpooled("slurm-single-node.sbatch", scontrolCommand: nil, environment: ["DNC_HOME": root.path])
        XCTAssertEqual(chosen.status, 0, chosen.error)
        XCTAssertTrue(chosen.srun.contains("--config \(root.path)/experiments/copy-L10.json"), chosen.srun)

        let lost = try runSpooled("slurm-single-node.sbatch", scontrolCommand: nil)
        XCTAssertEqual(lost.status, 2, lost.error)
        XCTAssertTrue(lost.error.contains("set DNC_HOME"), lost.error)
        XCTAssertEqual(lost.error.split(separator: "\n").count, 1, lost.error)
        XCTAssertEqual(lost.srun, "", "nothing was started")
    }
}

import XCTest
import Foundation
import TestSupport

/// `dnc-dist gpu-check` where there is no GPU, and `scripts/gpu-check.sh`'s argument handling.
/// The bundle itself takes minutes to build (release, static Swift runtime, xz), so it is checked
/// by `scripts/gpu-check.sh selftest` (README, "GPU ranks"), run here when a bundle exists.
final class GPUCheckScriptTests: XCTestCase {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var script: String { repository.appendingPathComponent("scripts/gpu-check.sh").path }

    func runScript(_ arguments: [String], timeout: TimeInterval = 60) throws -> Executables.Result {
        try Executables.run(executable: URL(fileURLWithPath: "/bin/bash"), [script] + arguments, timeout: timeout)
    }

    func testGPUCheckWithoutADriverIsOneLineAndExitCode2() throws {
        guard !FileManager.default.fileExists(atPath: "/proc/driver/nvidia/version") else { throw XCTSkip("this machine has an NVIDIA driver") }
        let result = try Executables.run("dnc-dist", ["gpu-check"])
        XCTAssertEqual(result.status, 2, result.output + result.error)
        XCTAssertEqual(result.error, "error: gpu-check: no GPU: libcuda.so.1 not found (no NVIDIA driver)\n")
        XCTAssertEqual(result.output, "")
    }

    func testGPUCheckRefusesANegativeDevice() throws {
        let result = try Executables.run("dnc-dist", ["gpu-check", "--device", "-1"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.error, "error: --device must be a GPU ordinal ≥ 0, got -1\n")
    }

    func testBadModesAreOneLineAndExitCode2() throws {
        for (arguments, message) in [([String](), "gpu-check: no mode given; usage: "),
                                     (["test"], "gpu-check: unknown mode 'test' (accepted: bundle, run, selftest); usage: "),
                                     (["run", "a", "b"], "gpu-check: run takes at most one DIR, got 2 arguments; usage: ")] {
            let result = try runScript(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.error)")
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
            XCTAssertTrue(result.error.hasPrefix(message), result.error)
        }
    }

    /// The bundle must be carried with the working tree: a folder that is ignored by git, inside the repository.
    func testBundleFoldersThatCannotBeCarriedAreRefusedBeforeBuilding() throws {
        let outside = try runScript(["bundle", "/tmp/dnc-bundle-elsewhere"])
        XCTAssertEqual(outside.status, 2, outside.error)
        XCTAssertTrue(outside.error.contains("is outside the repository"), outside.error)
        let tracked = try runScript(["bundle", repository.appendingPathComponent("docs/bundle").path])
        XCTAssertEqual(tracked.status, 2, tracked.error)
        XCTAssertTrue(tracked.error.contains("is not git-ignored"), tracked.error)
        XCTAssertFalse(tracked.output.contains("== build"), "no build before the refusal")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repository.appendingPathComponent("docs/bundle").path))
        // An ignored folder with other things in it (the build folder itself) is never emptied.
        let build = try runScript(["bundle", repository.appendingPathComponent(".build").path])
        XCTAssertEqual(build.status, 2, build.error)
        XCTAssertTrue(build.error.contains("holds files that are not a bundle"), build.error)
    }

    func testRunAndSelftestWithoutABundleSayHowToMakeIt() throws {
        let empty = Executables.temporaryDirectory("no-bundle")
        defer { try? FileManager.default.removeItem(at: empty) }
        for mode in ["run", "selftest"] {
            let result = try runScript([mode, empty.path])
            XCTAssertEqual(result.status, 2, result.error)
            XCTAssertEqual(result.error, "gpu-check: no bundle in '\(empty.path)' (no dnc-bundle.tar.xz; make it with: scripts/gpu-check.sh bundle)\n")
        }
    }

    /// With a bundle made (`scripts/gpu-check.sh bundle`), it runs from a copy outside the
    /// repository with an empty environment, and loads nothing but itself and glibc.
    func testTheBundleRunsOnItsOwn() throws {
        let bundle = repository.appendingPathComponent(".build/gpu-bundle")
        guard FileManager.default.fileExists(atPath: bundle.appendingPathComponent("dnc-bundle.tar.xz").path) else {
            throw XCTSkip("no bundle in .build/gpu-bundle (scripts/gpu-check.sh bundle makes one in about 5 minutes)")
        }
        let result = try runScript(["selftest", bundle.path], timeout: 300)
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.hasSuffix("gpu-check selftest: all passed\n"), result.output)
        for item in ["dnc-dist --version", "train copy, 5 steps", "mpirun -n 2 from the bundle", "loaded at run time (LD_DEBUG)", "ldd: all inside the bundle"] {
            XCTAssertTrue(result.output.split(separator: "\n").contains { $0.hasPrefix("PASS") && $0.contains(item) }, "\(item): \(result.output)")
        }
    }
}

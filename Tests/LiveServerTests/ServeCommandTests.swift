import DNCNumerics
import DNCStorage
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `dnc-dist serve` as a user runs it: bad input refused before serving, signals stopping it,
/// and a page in headless chromium that follows a real run's files as they change.
final class ServeCommandTests: XCTestCase {
    /// A `dnc-dist serve` process whose output the test reads while it runs.
    final class Server {
        let process = Process()
        let output: URL
        var port = 0

        init(_ arguments: [String]) throws {
            output = Executables.temporaryDirectory("serve-out").appendingPathComponent("stdout")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            process.executableURL = Executables.url("dnc-dist")
            process.arguments = ["serve"] + arguments
            process.standardOutput = try FileHandle(forWritingTo: output)
            process.standardError = process.standardOutput
            try process.run()
        }

        var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        /// Waits until the output holds `needle`; false after `timeout` seconds or an exit.
        func wait(for needle: String, timeout: TimeInterval = 60) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if text.contains(needle) { return true }
                if !process.isRunning { return text.contains(needle) }
                usleep(50_000)
            }
            return false
        }

        /// Waits for the start line and reads the port from its URL.
        func started() throws -> Int {
            guard wait(for: "serving "), let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression),
                  let port = Int(text[range].dropFirst("http://127.0.0.1:".count).dropLast()) else {
                throw SocketClient.Failure(description: "dnc-dist serve did not start: \(text)")
            }
            self.port = port
            return port
        }

        /// Sends `signal` and returns the exit status (nil: still running after 4 s, below the
        /// 5 s after which the server cancels a graceful shutdown that hangs).
        func stop(_ signal: Int32 = SIGTERM) -> Int32? {
            kill(process.processIdentifier, signal)
            let deadline = Date().addingTimeInterval(4)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    nonisolated(unsafe) static var trainedRun: URL?

    /// A short real dense-DNC run with debug dumps (made once per test process).
    func realRun() throws -> URL {
        if let run = Self.trainedRun { return run }
        let run = Executables.temporaryDirectory("serve-run").appendingPathComponent("run")
        let result = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "20", "-batch_size", "4", "-nhid", "16",
                                                      "-mem_slot", "8", "-mem_size", "4", "-read_heads", "1", "-summarize_freq", "10",
                                                      "-debug", "-eval_lengths", "4", "--run-dir", run.path], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        Self.trainedRun = run
        return run
    }

    /// A copy of a run directory, to change without touching the shared one.
    func copy(of run: URL) throws -> URL {
        let copy = Executables.temporaryDirectory("serve-copy").appendingPathComponent("run")
        try FileManager.default.copyItem(at: run, to: copy)
        return copy
    }

    // MARK: Bad input

    func assertRefused(_ arguments: [String], mentions words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try Executables.run("dnc-dist", ["serve"] + arguments, timeout: 60)
        XCTAssertEqual(result.status, 2, "dnc-dist serve \(arguments): \(result.output) \(result.error)", file: file, line: line)
        let lines = result.error.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(result.error)", file: file, line: line)
        for word in words { XCTAssertTrue(result.error.contains(word), "'\(word)' in: \(result.error)", file: file, line: line) }
        XCTAssertFalse(result.output.contains("serving"), "refused before serving", file: file, line: line)
    }

    func testBadInputIsOneLineAndExitTwo() throws {
        let run = Executables.temporaryDirectory("serve-bad")
        try assertRefused([run.appendingPathComponent("absent").path], mentions: ["RUN_DIR", "absent", "no such directory"])
        try assertRefused([run.path], mentions: ["RUN_DIR", "not a run directory", "--run-dir"])
        try "{}".write(to: run.appendingPathComponent("configuration.json"), atomically: true, encoding: .utf8)
        try assertRefused([run.path, "--port", "70000"], mentions: ["--port", "70000", "0 to 65535"])
        try assertRefused([run.path, "--port", "-1"], mentions: ["--port", "-1", "0 to 65535"])
        try assertRefused([run.path, "--interval", "0"], mentions: ["--interval", "positive"])
        try assertRefused([run.path, "--steps", "some"], mentions: ["--steps", "some"])

        // A port another program listens on.
        let listener = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        XCTAssertTrue(bound)
        let taken = Int(UInt16(bigEndian: address.sin_port))
        try assertRefused([run.path, "--port", String(taken)], mentions: ["--port \(taken)", "in use", "0 for any free one"])
    }

    func testSignalsStopItCleanly() throws {
        let run = Executables.temporaryDirectory("serve-signal")
        try "{}".write(to: run.appendingPathComponent("configuration.json"), atomically: true, encoding: .utf8)
        for signal in [SIGINT, SIGTERM] {
            let server = try Server([run.path, "--port", "0"])
            let port = try server.started()
            // With a browser connected: its endless event stream must not hold the server up.
            let stream = try SocketClient(port: port, request: "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            XCTAssertTrue(stream.read(until: { $0.contains("retry:") }, timeout: 10))
            XCTAssertEqual(server.stop(signal), 0, "signal \(signal): \(server.text)")
            XCTAssertTrue(server.text.contains("stopped"), server.text)
        }
    }

    // MARK: In a browser

    /// Adds a dumped step to the run's debug file the way a run replaces a file: a new file
    /// renamed over the old one.
    func addDumpedStep(_ step: Int, to run: URL) throws {
        let dump = run.appendingPathComponent("debug-rank0.h5")
        let temporary = run.appendingPathComponent(".debug-rank0.h5.tmp")
        try FileManager.default.copyItem(at: dump, to: temporary)
        let file = try HDF5File(path: temporary.path, mode: .readWrite)
        let group = String(format: "step_%08d", step)
        try file.createGroup("\(group)/layer_0")
        try file.writeAttribute("step", step, at: group)
        let memory = Tensor<Float>(shape: [2, 8, 4], storage: (0..<64).map { Float($0) / 64 })
        try file.write(memory, to: "\(group)/layer_0/memory")
        try file.writeAttribute("axes", "time,cell,word", at: "\(group)/layer_0/memory")
        try file.close()
        _ = rename(temporary.path, dump.path)
    }

    /// The page, open in headless chromium, follows the run: a summary appended to
    /// metrics.jsonl and a step added to the debug dump reach the open page as events, and its
    /// DOM shows them (the new last step, the redrawn curve, the new heatmap) without a reload.
    func testPageInHeadlessChromiumFollowsTheRun() throws {
        let chromium = try DevToolsPipe.chromium()
        let run = try copy(of: try realRun())
        let server = try Server([run.path, "--port", "0", "--interval", "0.2"])
        let port = try server.started()
        let initial = try SocketClient.get(port: port, path: "/")
        XCTAssertTrue(initial.body.contains("id=\"live-step\">20<"), "the page starts at the run's last step")
        XCTAssertFalse(initial.body.contains("fig-rank0-step00099999-layer0-memory"))

        let profile = Executables.temporaryDirectory("serve-chromium")
        defer { try? FileManager.default.removeItem(at: profile) }
        let browser = try DevToolsPipe(chromium: chromium, directory: profile)
        defer { browser.closeBrowser() }
        try browser.open("http://127.0.0.1:\(port)/")
        XCTAssertTrue(try browser.wait(until: "document.getElementById('live-state') !== null && "
                                           + "document.getElementById('live-state').textContent === 'live'", timeout: 60),
                      "the page did not connect to /events: \(server.text)")
        _ = try browser.evaluate("window.loadedOnce = true")

        // Once the page listens, the run writes.
        var summary = try JSONSerialization.jsonObject(with: Data(String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").last { $0.contains("\"loss\"") && !$0.contains("evaluation") }!.utf8)) as! [String: Any]  // a training summary
        summary["step"] = 777
        let handle = try FileHandle(forWritingTo: run.appendingPathComponent("metrics.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: JSONSerialization.data(withJSONObject: summary) + Data("\n".utf8))
        try handle.close()
        let reached = try browser.wait(until: "document.getElementById('live-step').textContent === '777'", timeout: 30)
        let shown = try browser.evaluate("document.getElementById('live-step').textContent")
        XCTAssertTrue(reached, "the page's last step: \(String(describing: shown))")
        XCTAssertEqual(try browser.evaluate("document.getElementById('fig-training-loss').textContent.indexOf('at step 777') >= 0") as? Bool,
                       true, "the loss curve was redrawn with the new point")

        let oldFigure = "document.getElementById('fig-rank0-step00000010-layer0-memory')"
        XCTAssertEqual(try browser.evaluate("\(oldFigure) !== null") as? Bool, true, "a heatmap of dumped step 10")
        _ = try browser.evaluate("\(oldFigure).setAttribute('data-mark', 'kept'); true")
        try addDumpedStep(99999, to: run)
        let newFigure = "document.getElementById('fig-rank0-step00099999-layer0-memory')"
        XCTAssertTrue(try browser.wait(until: "\(newFigure) !== null && \(newFigure).querySelector('svg') !== null", timeout: 30),
                      "no heatmap of the new dump step: \(server.text)")
        XCTAssertEqual(try browser.evaluate("\(newFigure).textContent.indexOf('memory — step 99999') >= 0") as? Bool, true,
                       "the new figure's title")
        XCTAssertEqual(try browser.evaluate("document.querySelectorAll('[data-placeholder]').length") as? Int, 0,
                       "every placeholder was filled")
        XCTAssertEqual(try browser.evaluate("window.loadedOnce === true") as? Bool, true, "updated in place, not reloaded")
        // A figure that did not change is the same element as before.
        XCTAssertEqual(try browser.evaluate("\(oldFigure).getAttribute('data-mark')") as? String, "kept")
        XCTAssertEqual(try browser.evaluate("document.querySelectorAll('figure[data-figure=\"debug\"] svg').length > 10") as? Bool, true)

        browser.closeBrowser()
        XCTAssertEqual(server.stop(), 0, server.text)
    }
}

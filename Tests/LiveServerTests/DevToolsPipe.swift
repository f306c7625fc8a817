import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Headless chromium driven over the DevTools protocol on `--remote-debugging-pipe` (JSON
/// messages ended by NUL on its file descriptors 3 and 4, here two named pipes): the test asks
/// the open page what its DOM holds while the page stays connected. (`--dump-dom` cannot: with
/// an event stream open, its virtual time never runs out.)
final class DevToolsPipe {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let process = Process()
    private let input: Int32
    private let output: Int32
    private var buffer: [UInt8] = []
    private var nextID = 0
    private var session: String?
    private let directory: URL

    static func chromium() throws -> String {
        let candidates = [ProcessInfo.processInfo.environment["DNC_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"]
        guard let found = candidates.compactMap({ $0 }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("browser test skipped: no chromium found (install Debian's 'chromium' package; scripts/setup.sh --for-tests does)")
        }
        return found
    }

    init(chromium: String, directory: URL) throws {
        self.directory = directory
        // A write to a browser that has gone must fail, not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        let toBrowser = directory.appendingPathComponent("in.fifo").path, fromBrowser = directory.appendingPathComponent("out.fifo").path
        guard mkfifo(toBrowser, 0o600) == 0, mkfifo(fromBrowser, 0o600) == 0 else {
            throw Failure(description: "mkfifo: \(String(cString: strerror(errno)))")
        }
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-sync", "--user-data-dir='\(directory.path)/profile'",
                     "--remote-debugging-pipe", "about:blank"]
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // The shell gives chromium the pipes as descriptors 3 and 4 (Process passes no others).
        process.arguments = ["-c", "exec '\(chromium)' \(flags.joined(separator: " ")) 3<'\(toBrowser)' 4>'\(fromBrowser)'"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        output = Glibc.open(fromBrowser, O_RDONLY | O_NONBLOCK)
        var writer: Int32 = -1
        let deadline = Date().addingTimeInterval(60)
        while writer < 0 && Date() < deadline && process.isRunning {
            writer = Glibc.open(toBrowser, O_WRONLY | O_NONBLOCK)  // ENXIO until chromium's side is open
            if writer < 0 { usleep(20_000) }
        }
        guard writer >= 0, output >= 0 else {
            process.terminate()
            throw Failure(description: "chromium did not open its DevTools pipe")
        }
        _ = fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) & ~O_NONBLOCK)
        input = writer
    }

    deinit {
        close(input)
        close(output)
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    /// Sends one command (to the attached page unless `browser`) and returns its result.
    @discardableResult
    func send(_ method: String, _ parameters: [String: Any] = [:], browser: Bool = false, timeout: TimeInterval = 60) throws -> [String: Any] {
        nextID += 1
        var message: [String: Any] = ["id": nextID, "method": method, "params": parameters]
        if !browser, let session { message["sessionId"] = session }
        let bytes = try [UInt8](JSONSerialization.data(withJSONObject: message)) + [0]
        guard Glibc.write(input, bytes, bytes.count) == bytes.count else { throw Failure(description: "write to chromium failed") }
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while Date() < deadline {
            while let end = buffer.firstIndex(of: 0) {
                let reply = Array(buffer[..<end])
                buffer.removeFirst(end + 1)
                guard let object = try JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any],
                      (object["id"] as? NSNumber)?.intValue == nextID else { continue }  // events, other replies
                if let error = object["error"] { throw Failure(description: "\(method): \(error)") }
                return object["result"] as? [String: Any] ?? [:]
            }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 200) > 0 {
                let count = Glibc.read(output, &chunk, chunk.count)
                if count > 0 { buffer += chunk[0..<count] } else { usleep(20_000) }
            }
        }
        throw Failure(description: "\(method): no answer from chromium within \(Int(timeout)) s")
    }

    /// Opens `url` in a new page and attaches to it.
    func open(_ url: String) throws {
        let target = try send("Target.createTarget", ["url": url], browser: true)
        guard let id = target["targetId"] as? String else { throw Failure(description: "no target: \(target)") }
        let attached = try send("Target.attachToTarget", ["targetId": id, "flatten": true], browser: true)
        session = attached["sessionId"] as? String
    }

    /// The value of a JavaScript expression in the page.
    func evaluate(_ expression: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true])
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Evaluates `expression` until it is `true`; false after `timeout` seconds.
    func wait(until expression: String, timeout: TimeInterval) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try evaluate(expression) as? Bool == true { return true }
            usleep(200_000)
        }
        return false
    }

    func closeBrowser() {
        guard process.isRunning else { return }
        _ = try? send("Browser.close", browser: true, timeout: 10)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(50_000) }
    }
}

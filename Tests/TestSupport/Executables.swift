import Foundation

/// The package's executables, built beside the test bundle (`swift build --build-tests` builds
/// them too), and a way to run them with a time limit.
public enum Executables {
    public static func url(_ name: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    }

    public struct Result {
        public let status: Int32
        public let output: String
        public let error: String
        public let timedOut: Bool

        public init(status: Int32, output: String, error: String, timedOut: Bool) {
            self.status = status
            self.output = output
            self.error = error
            self.timedOut = timedOut
        }
    }

    /// Runs `name` with `arguments`, killing it after `timeout` seconds.
    public static func run(_ name: String, _ arguments: [String], timeout: TimeInterval = 120,
                           environment: [String: String] = [:]) throws -> Result {
        try run(executable: url(name), arguments, timeout: timeout, environment: environment)
    }

    /// Runs any program, killing it after `timeout` seconds.
    public static func run(executable: URL, _ arguments: [String], timeout: TimeInterval = 120,
                           environment: [String: String] = [:]) throws -> Result {
        let process = try start(executable: executable, arguments, environment: environment)
        let deadline = Date().addingTimeInterval(timeout)
        while process.process.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = process.process.isRunning
        if timedOut { process.process.terminate(); process.process.waitUntilExit() }
        return process.finish(timedOut: timedOut)
    }

    public final class Running {
        public let process: Process
        let outputFile: URL
        let errorFile: URL

        init(process: Process, outputFile: URL, errorFile: URL) {
            self.process = process
            self.outputFile = outputFile
            self.errorFile = errorFile
        }

        public func finish(timedOut: Bool = false) -> Result {
            process.waitUntilExit()
            let output = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
            let error = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
            return Result(status: process.terminationStatus, output: output, error: error, timedOut: timedOut)
        }
    }

    /// Starts `name` in the background; its output goes to temporary files (no pipe to fill up).
    public static func start(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        try start(executable: url(name), arguments, environment: environment)
    }

    public static func start(executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Running {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("exec-\(UUID().uuidString)")
        let outputFile = base.appendingPathExtension("out"), errorFile = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        return Running(process: process, outputFile: outputFile, errorFile: errorFile)
    }

    /// A fresh empty directory under the system's temporary directory.
    public static func temporaryDirectory(_ label: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

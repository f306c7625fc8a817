import Foundation

/// The progress line of rank 0: repainted in place on a terminal, one plain line per summary
/// when the output is a file or a pipe (batch jobs, CI logs).
public final class ProgressReporter {
    public let isTerminal: Bool
    private let enabled: Bool
    private var painted = false

    /// `enabled` is false on ranks other than 0. Under an MPI launcher output is plain lines:
    /// mpirun hands ranks a pseudo-terminal even when its own output goes to a batch log.
    public init(enabled: Bool = true,
                isTerminal: Bool = isatty(STDOUT_FILENO) == 1 && !LaunchEnvironment.isUnderMPILauncher) {
        self.enabled = enabled
        self.isTerminal = isTerminal
    }

    /// A transient line (between summaries); only drawn on a terminal.
    public func update(_ line: String) {
        guard enabled, isTerminal else { return }
        print("\r\u{1B}[K" + line, terminator: "")
        fflush(nil)
        painted = true
    }

    /// A line that stays (summaries, messages).
    public func log(_ line: String) {
        guard enabled else { return }
        if painted { print("\r\u{1B}[K", terminator: ""); painted = false }
        print(line)
        fflush(nil)
    }

    /// "1h02m", "3m05s", "12s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}

/// Appends one JSON object per line to `metrics.jsonl` in the run directory.
public final class MetricsLog {
    private let handle: FileHandle?

    public init(url: URL?) throws {
        guard let url else { handle = nil; return }
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ConfigurationError("cannot create metrics log '\(url.path)'")
            }
        }
        handle = try FileHandle(forWritingTo: url)
        try handle?.seekToEnd()
    }

    deinit { try? handle?.close() }

    public func append(_ record: [String: Any]) {
        guard let handle, let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        handle.write(data + Data("\n".utf8))
    }
}

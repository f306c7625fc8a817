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
    public let url: URL?

    public init(url: URL?) throws {
        self.url = url
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

    /// Appends one record; a failed write (disk full) throws naming the file, rather than
    /// crashing the process as `FileHandle.write(_:)` does.
    public func append(_ record: [String: Any]) throws {
        guard let handle, let url, let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        do {
            try handle.write(contentsOf: data + Data("\n".utf8))
        } catch {
            throw TrainingFailure("cannot write '\(url.path)': \(error.localizedDescription)")
        }
    }

    /// Drops the records of steps after `step` (and any torn last line) from the log at `url`,
    /// so that a run resumed from the checkpoint of `step` does not record those steps twice.
    /// Replaces the file atomically; returns how many lines were dropped.
    @discardableResult
    public static func truncate(_ url: URL, after step: Int) throws -> Int {
        guard let data = FileManager.default.contents(atPath: url.path) else { return 0 }
        var kept = Data()
        var dropped = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let record = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            if let recorded = record?["step"] as? Int, recorded <= step {
                kept.append(contentsOf: line)
                kept.append(UInt8(ascii: "\n"))
            } else {
                dropped += 1
            }
        }
        guard dropped > 0 else { return 0 }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try kept.write(to: temporary)
            try DurableFiles.sync(temporary.path)
            try DurableFiles.move(temporary.path, replacing: url.path)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw TrainingFailure("cannot rewrite '\(url.path)' back to step \(step): \(error)")
        }
        return dropped
    }
}

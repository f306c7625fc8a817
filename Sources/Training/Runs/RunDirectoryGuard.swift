import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What keeps one run directory to one run: an exclusive lock held for the whole process, and
/// the refusal to start a fresh run over an earlier run's files.
///
/// The lock is `flock(2)` on `<run-dir>/.lock`, taken by the process that writes the run's files
/// (rank 0 under MPI) and released by the kernel when that process ends, however it ends: a lock
/// left by a killed process is never stale, so there is nothing to clean up. The file holds the
/// holder's pid and host for the refusal message.
public enum RunDirectoryGuard {
    public static let lockFileName = ".lock"

    /// Descriptors of the locks this process holds (closed only by process exit).
    nonisolated(unsafe) private static var held: [String: Int32] = [:]

    /// Takes the run directory's lock, or throws (one line, exit code 2) when another live
    /// process holds it. Taking a lock this process already holds is a no-op.
    public static func lock(_ run: URL) throws {
        let path = run.appendingPathComponent(lockFileName).path
        if held[path] != nil { return }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ConfigurationError("cannot create the lock file '\(path)': \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = (FileManager.default.contents(atPath: path)).map { String(decoding: $0, as: UTF8.self) }?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            if reason == EWOULDBLOCK {
                throw ConfigurationError("run directory '\(run.path)' is in use by another dnc-dist process"
                                         + (holder.isEmpty ? "" : " (\(holder))") + "; wait for it to end or use another --run-dir")
            }
            throw ConfigurationError("cannot lock '\(path)': \(String(cString: strerror(reason)))")
        }
        let text = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { write(descriptor, $0, strlen($0)) }
        held[path] = descriptor
    }

    /// The files and folders a run writes into its directory; `--overwrite` removes these and
    /// nothing else.
    static func isRunOutput(_ name: String) -> Bool {
        name == "checkpoints" || name == "metrics.jsonl" || name == "configuration.json" || name.hasPrefix("debug-rank")
            || name.hasPrefix("eval") || name.hasPrefix(".metrics.jsonl.tmp-")
    }

    /// Before a fresh (not resumed) run: refuses a run directory that holds anything (besides
    /// the lock file), since the new run would mix with, and prune, the earlier run's
    /// checkpoints. With `overwrite` the earlier run's files are deleted instead. Returns what
    /// was deleted.
    @discardableResult
    public static func prepareFresh(_ run: URL, overwrite: Bool) throws -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: run.path)) ?? []).filter { $0 != lockFileName }.sorted()
        guard !names.isEmpty else { return [] }
        guard overwrite else {
            let shown = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", …" : "")
            throw ConfigurationError("run directory '\(run.path)' is not empty (\(shown)): continue it with --resume, "
                                     + "or replace it with --overwrite")
        }
        var removed: [String] = []
        for name in names where isRunOutput(name) {
            let path = run.appendingPathComponent(name).path
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw ConfigurationError("--overwrite: cannot delete '\(path)': \(error.localizedDescription)")
            }
            removed.append(name)
        }
        return removed
    }
}

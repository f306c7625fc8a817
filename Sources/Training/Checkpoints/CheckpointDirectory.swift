import DNCNumerics
import DNCStorage
import Foundation

/// A directory of checkpoints `checkpoint-<step, 8 digits>.h5`, written atomically, pruned to
/// the newest few, searched for the newest valid one when a run resumes.
///
/// A save writes `.<name>.tmp-<pid>` (hidden, never matched as a checkpoint), closes it, fsyncs
/// it, renames it to `<name>` and fsyncs the directory; only then are older checkpoints deleted.
/// So at every instant the directory holds the previous checkpoints intact, and the new one is
/// either complete under its final name or absent. A crash can leave a stale temporary file;
/// `latest` ignores it (and lists it), and a later save by the same pid replaces it.
///
/// One writer per directory: in a multi-rank run, rank 0 saves (the ranks hold identical
/// parameters after each allreduce), or each rank gets its own directory.
public struct CheckpointDirectory: Sendable {
    public let path: String
    /// How many checkpoints to keep (at least 1): the newest by step, always including the
    /// one just written.
    public let keepLast: Int
    /// Per-chunk filters of the datasets; the checksum is what lets `latest` detect damage.
    public var filters: HDF5Filters

    public init(path: String, keepLast: Int = 3, filters: HDF5Filters = .checksummed) {
        precondition(keepLast >= 1, "keepLast \(keepLast) must be at least 1")
        self.path = path
        self.keepLast = keepLast
        self.filters = filters
    }

    /// `checkpoint-00000042.h5`; steps beyond 8 digits simply get more digits.
    public static func fileName(step: Int64) -> String {
        let digits = String(step)
        return "checkpoint-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".h5"
    }

    /// The step in a checkpoint file name, or nil for any other name (temporary files included).
    public static func step(fromFileName name: String) -> Int64? {
        guard name.hasPrefix("checkpoint-"), name.hasSuffix(".h5") else { return nil }
        let digits = name.dropFirst("checkpoint-".count).dropLast(".h5".count)
        guard digits.count >= 8, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(digits)
    }

    /// What `save` did: the new file, and the old checkpoints it pruned or failed to prune
    /// (a failed deletion does not undo the save, so it is reported rather than thrown).
    public struct SaveReport: Sendable {
        public let path: String
        public let removed: [String]
        public let notRemoved: [CheckpointError]
    }

    /// Writes `checkpoint` as `checkpoint-<step>.h5` atomically (see the type's description),
    /// replacing a checkpoint of the same step, then prunes to `keepLast`. Creates the
    /// directory if needed. On error no checkpoint was deleted and the final name holds either
    /// its old contents or, if only the closing directory fsync failed, the complete new file;
    /// a refused checkpoint (NaN, bad names) creates no file at all.
    @discardableResult
    public func save<T: Real>(_ checkpoint: Checkpoint<T>) throws(CheckpointError) -> SaveReport {
        let name = Self.fileName(step: checkpoint.step)
        let final = url(name).path
        try checkpoint.validate(file: final)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .ioFailed(file: path, reason: "cannot create the checkpoint directory: \(error.localizedDescription)")
        }
        let temporary = url(".\(name).tmp-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            try CheckpointFile.write(checkpoint, to: temporary, filters: filters)
            try DurableFiles.sync(temporary)
            try DurableFiles.move(temporary, replacing: final)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            // Name the checkpoint, not its temporary file, and say what is still there.
            let reason = error.description.replacingOccurrences(of: "checkpoint '\(temporary)': ", with: "")
            throw .ioFailed(file: final, reason: "not written (\(reason)); the earlier checkpoints are intact")
        }
        try DurableFiles.sync(path)
        let (removed, notRemoved) = prune(keeping: final)
        return SaveReport(path: final, removed: removed, notRemoved: notRemoved)
    }

    /// Checkpoint files by final name, newest step first (contents not checked).
    public func checkpointFiles() -> [(step: Int64, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name in Self.step(fromFileName: name).map { (step: $0, path: url(name).path) } }
            .sorted { $0.step > $1.step }
    }

    /// The result of `latest`: the newest checkpoint that reads and validates, the newer ones
    /// rejected on the way (each error says which file and why), and temporary files ignored.
    public struct Search<T: Real>: Sendable {
        public var path: String?
        public var checkpoint: Checkpoint<T>?
        public var rejected: [CheckpointError]
        public var temporaryFiles: [String]
    }

    /// Finds the newest checkpoint that `CheckpointFile.read` accepts, trying files from the
    /// highest step down. Compatibility with a model is not checked here: a valid checkpoint of
    /// another model is found, and `restore` then says what differs (falling back to an older
    /// checkpoint of the same run would not help).
    public func latest<T: Real>(as _: T.Type = T.self) -> Search<T> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let temporary = names.filter { $0.hasPrefix(".checkpoint-") && $0.contains(".h5.tmp-") }.sorted().map { url($0).path }
        var search = Search<T>(path: nil, checkpoint: nil, rejected: [], temporaryFiles: temporary)
        for (_, file) in checkpointFiles() {
            do {
                search.checkpoint = try CheckpointFile.read(file, as: T.self)
                search.path = file
                return search
            } catch {
                search.rejected.append(error)
            }
        }
        return search
    }

    /// Deletes the temporary files `.checkpoint-<step>.h5.tmp-<pid>` left by saves of processes
    /// that no longer exist (killed mid-save); a live process's file is left alone. Returns the
    /// files removed.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var removed: [String] = []
        for name in names.sorted() where name.hasPrefix(".checkpoint-") && name.contains(".h5.tmp-") {
            guard let marker = name.range(of: ".h5.tmp-", options: .backwards),
                  let pid = Int32(name[marker.upperBound...]), pid > 0 else { continue }
            let alive = kill(pid, 0) == 0 || errno == EPERM
            if !alive, (try? FileManager.default.removeItem(atPath: url(name).path)) != nil { removed.append(url(name).path) }
        }
        return removed
    }

    private func prune(keeping newest: String) -> (removed: [String], notRemoved: [CheckpointError]) {
        let others = checkpointFiles().map(\.path).filter { $0 != newest }
        var removed: [String] = []
        var notRemoved: [CheckpointError] = []
        for file in others.dropFirst(keepLast - 1) {
            do {
                try FileManager.default.removeItem(atPath: file)
                removed.append(file)
            } catch {
                notRemoved.append(.ioFailed(file: file, reason: "cannot delete old checkpoint: \(error.localizedDescription)"))
            }
        }
        return (removed, notRemoved)
    }

    private func url(_ name: String) -> URL {
        URL(fileURLWithPath: path, isDirectory: true).appendingPathComponent(name)
    }
}

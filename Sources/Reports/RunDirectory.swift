import Foundation

/// The files of a `dnc-dist train` run directory that a report reads (see README: "A run directory").
public struct RunDirectory: Sendable {
    public let url: URL
    public init(_ url: URL) { self.url = url }
    public var metrics: URL { url.appendingPathComponent("metrics.jsonl") }
    public var evaluation: URL { url.appendingPathComponent("eval.h5") }
    public var configuration: URL { url.appendingPathComponent("configuration.json") }
    /// debug-rank<r>.h5 files, sorted by rank.
    public var debugFiles: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasPrefix("debug-rank") && $0.hasSuffix(".h5") }.sorted().map { url.appendingPathComponent($0) }
    }
}

extension RunDirectory {
    /// Opens an HDF5 file of a run with `open`; when HDF5 refuses because the file is locked by
    /// the process writing it (a run in progress), opens a snapshot copy instead, made with plain
    /// reads that need no lock. Returns the opened value and the copy to delete when done.
    /// A copy caught mid-write may fail to read; the caller reports that like any damage.
    static func openWithSnapshotIfLocked<T>(_ url: URL, _ open: (URL) throws -> T) throws -> (value: T, snapshot: URL?) {
        do {
            return (try open(url), nil)
        } catch where "\(error)".contains("lock") {
            let snapshot = FileManager.default.temporaryDirectory
                .appendingPathComponent("dnc-report-\(getpid())-\(UUID().uuidString)-\(url.lastPathComponent)")
            try FileManager.default.copyItem(at: url, to: snapshot)
            do {
                return (try open(snapshot), snapshot)
            } catch {
                try? FileManager.default.removeItem(at: snapshot)
                throw error
            }
        }
    }
}

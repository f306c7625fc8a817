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

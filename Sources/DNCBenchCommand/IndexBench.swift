import DNCMemories
import DNCNumerics
import Foundation

/// The nearest-neighbour indexes on full memories (`--only index`): for N = 10 k, 100 k and 1 M
/// rows of width 32, Gaussian and clustered, the exact scan and the approximate inverted-file
/// index: build time, query time for K = 4, recall@4 against the exact answer, and the cost of
/// replacing a stored row (what a memory write costs the index). `--dump DIR` also writes each
/// dataset (rows, queries, exact answers, updates) for `scripts/index-compare/flann-bench.sh`,
/// which measures FLANN's randomized k-d trees on the same data.
struct IndexBench {
    static let width = 32, neighbours = 4, queryCount = 200, updateCount = 2_000
    static let sizes = [10_000, 100_000, 1_000_000]

    struct Dataset {
        let name: String
        let rows: [Float], queries: [Float], updates: [Float], updateIDs: [Int]
        var count: Int { rows.count / IndexBench.width }
    }

    /// Gaussian rows and queries, or rows and queries around √N centres (spread 0.3).
    static func dataset(cells: Int, clustered: Bool) -> Dataset {
        let w = width, random = CounterRandom(seed: 77)
        let centres = Int(Double(cells).squareRoot())
        func draw(_ count: Int, stream: UInt64) -> [Float] {
            var out = [Float](repeating: 0, count: count * w)
            for i in 0..<count {
                let centre = random.integer(below: centres, stream: stream + 1, index: UInt64(i))
                for j in 0..<w {
                    let noise = Float(random.normal(stream: stream, index: UInt64(i * w + j)))
                    out[i * w + j] = clustered
                        ? Float(random.normal(stream: 900, index: UInt64(centre * w + j))) + 0.3 * noise : noise
                }
            }
            return out
        }
        return Dataset(name: "\(clustered ? "clustered" : "gaussian")-\(cells)", rows: draw(cells, stream: 1),
                       queries: draw(queryCount, stream: 3), updates: draw(updateCount, stream: 5),
                       updateIDs: (0..<updateCount).map { random.integer(below: cells, stream: 7, index: UInt64($0)) })
    }

    static func measure(_ data: Dataset, approximate: Bool, probes: Int?) -> [String: Any] {
        let w = width, n = data.count
        var options = ApproximateIndexOptions()
        if let probes { options.probes = probes }
        let index: any NearestNeighbourIndex<Float> = approximate
            ? ApproximateNeighbourIndex<Float>(capacity: n, width: w, options: options) : ExactNeighbourIndex<Float>(capacity: n, width: w)
        let exact = ExactNeighbourIndex<Float>(capacity: n, width: w)
        let buildSeconds = Timing.seconds {
            data.rows.withUnsafeBufferPointer { rows in
                for c in 0..<n { index.insert(id: c, vector: rows.baseAddress! + c * w) }
            }
            if index.needsRebuild { index.rebuild() }
        }
        data.rows.withUnsafeBufferPointer { rows in
            for c in 0..<n { exact.insert(id: c, vector: rows.baseAddress! + c * w) }
        }
        var found = [Int](repeating: 0, count: neighbours), truth = found
        var hits = 0, queryTotal = 0.0
        data.queries.withUnsafeBufferPointer { q in
            for i in 0..<queryCount {
                var count = 0
                queryTotal += Timing.seconds { count = index.search(query: q.baseAddress! + i * w, k: neighbours, results: &found) }
                _ = exact.search(query: q.baseAddress! + i * w, k: neighbours, results: &truth)
                hits += Set(found.prefix(count)).intersection(truth).count
            }
        }
        let visitedBefore = index.entriesVisited
        data.queries.withUnsafeBufferPointer { q in
            for i in 0..<queryCount { _ = index.search(query: q.baseAddress! + i * w, k: neighbours, results: &found) }
        }
        let visited = Double(index.entriesVisited - visitedBefore) / Double(queryCount)
        let updateSeconds = Timing.seconds {
            data.updates.withUnsafeBufferPointer { u in
                for (i, id) in data.updateIDs.enumerated() { index.insert(id: id, vector: u.baseAddress! + i * w) }
            }
        }
        return ["name": "index", "library": "dnc-swift", "index": approximate ? "approximate" : "exact",
                "probes": approximate ? options.probes : 0,
                "dataset": data.name, "nr_cells": n, "width": w, "k": neighbours,
                "build_ms": buildSeconds * 1e3, "query_us": queryTotal / Double(queryCount) * 1e6,
                "recall_at_k": Double(hits) / Double(queryCount * neighbours), "entries_visited_per_query": visited,
                "update_us": updateSeconds / Double(updateCount) * 1e6]
    }

    /// Writes the dataset in the format `scripts/index-compare/flann_bench.c` reads.
    static func dump(_ data: Dataset, to folder: URL) throws {
        let w = width, n = data.count
        let directory = folder.appendingPathComponent(data.name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let exact = ExactNeighbourIndex<Float>(capacity: n, width: w)
        data.rows.withUnsafeBufferPointer { rows in
            for c in 0..<n { exact.insert(id: c, vector: rows.baseAddress! + c * w) }
        }
        var truth: [Int32] = [], found = [Int](repeating: 0, count: neighbours)
        data.queries.withUnsafeBufferPointer { q in
            for i in 0..<queryCount {
                _ = exact.search(query: q.baseAddress! + i * w, k: neighbours, results: &found)
                truth += found.map { Int32($0) }
            }
        }
        func write<E>(_ values: [E], _ file: String) throws {
            try values.withUnsafeBytes { try Data($0).write(to: directory.appendingPathComponent(file)) }
        }
        try "\(n) \(w) \(queryCount) \(neighbours) \(updateCount)\n".write(to: directory.appendingPathComponent("meta.txt"),
                                                                         atomically: true, encoding: .utf8)
        try "\(data.name)\n".write(to: directory.appendingPathComponent("name.txt"), atomically: true, encoding: .utf8)
        try write(data.rows, "base.f32")
        try write(data.queries, "queries.f32")
        try write(truth, "truth.i32")
        try write(data.updates, "updates.f32")
        try write(data.updateIDs.map { Int32($0) }, "update_ids.i32")
    }
}

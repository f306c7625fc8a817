import Foundation
import DNCNumerics

/// Wall-clock time spent inside nearest-neighbour indexes, shared by every index wrapped with it
/// (all samples of a memory, and the copies a tape keeps): what `dnc-bench --only sam-full`
/// reports as the index's share of a training step.
public final class IndexClock: @unchecked Sendable {
    /// Seconds in `search`.
    public internal(set) var searching = 0.0
    /// Seconds in `insert`, `remove`, `undoInsert` and `rebuild` (keeping the index in step with
    /// the memory's writes and their rollback).
    public internal(set) var updating = 0.0
    public internal(set) var searches = 0
    public internal(set) var updates = 0

    public init() {}

    public var total: Double { searching + updating }

    public func reset() { searching = 0; updating = 0; searches = 0; updates = 0 }

    @inline(__always)
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// An index that forwards every call to another and adds the time each takes to an `IndexClock`.
/// Answers and contents are exactly the wrapped index's. Costs two clock reads per call (about
/// 40 ns), so it is only installed by benchmarks (`SparseSampleMemory.timeIndex(with:)`).
public final class TimedNeighbourIndex<T: Real>: NearestNeighbourIndex, @unchecked Sendable {
    public typealias Scalar = T
    public let wrapped: any NearestNeighbourIndex<T>
    public let clock: IndexClock

    public init(_ wrapped: any NearestNeighbourIndex<T>, clock: IndexClock) {
        // Never a wrapper around a wrapper: time would be counted twice.
        self.wrapped = (wrapped as? TimedNeighbourIndex<T>)?.wrapped ?? wrapped
        self.clock = clock
    }

    public var width: Int { wrapped.width }
    public var count: Int { wrapped.count }
    public var entriesVisited: Int { wrapped.entriesVisited }
    public var needsRebuild: Bool { wrapped.needsRebuild }
    public func reset() { wrapped.reset() }
    public func contains(_ id: Int) -> Bool { wrapped.contains(id) }
    public func storedVector(_ id: Int) -> [T]? { wrapped.storedVector(id) }

    @inline(__always)
    private func timedUpdate(_ body: () -> Void) {
        let start = IndexClock.now()
        body()
        clock.updating += IndexClock.now() - start
        clock.updates += 1
    }

    public func insert(id: Int, vector: UnsafePointer<T>) { timedUpdate { wrapped.insert(id: id, vector: vector) } }
    public func remove(id: Int) { timedUpdate { wrapped.remove(id: id) } }
    public func undoInsert(id: Int, previous: UnsafePointer<T>?) { timedUpdate { wrapped.undoInsert(id: id, previous: previous) } }
    public func rebuild() { timedUpdate { wrapped.rebuild() } }

    public func search(query: UnsafePointer<T>, k: Int, results: UnsafeMutablePointer<Int>) -> Int {
        let start = IndexClock.now()
        let found = wrapped.search(query: query, k: k, results: results)
        clock.searching += IndexClock.now() - start
        clock.searches += 1
        return found
    }

    public func copy() -> any NearestNeighbourIndex<T> { TimedNeighbourIndex(wrapped.copy(), clock: clock) }

    public func contentsEqual(_ other: any NearestNeighbourIndex<T>) -> Bool {
        wrapped.contentsEqual((other as? TimedNeighbourIndex<T>)?.wrapped ?? other)
    }
}

extension SparseSampleMemory {
    /// Wraps this sample's index so that the time spent in it adds up in `clock` (benchmarks).
    public func timeIndex(with clock: IndexClock) {
        index = TimedNeighbourIndex(index, clock: clock)
    }
}

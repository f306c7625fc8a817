import DNCNumerics

/// A per-sample cosine nearest-neighbour index over the stored rows of one sparse memory
/// (docs/sparse-memory.md, Nearest-neighbour index). Rows are identified by their cell number. The index is a non-differentiable
/// view of the memory: the memory tells it about every row it changes (`insert`, which also
/// replaces) and, when rolling back a first write, `remove`s the row again.
///
/// Contract: `search` returns the ids of up to k stored rows, best first by cosine similarity to
/// the query (ties to the lower id); it never returns a row twice. `reset` is O(1) (lazy).
/// `entriesVisited` counts the stored entries whose similarity a search evaluated (the work
/// counter the cost tests use). Two indexes are `contentsEqual` when they store the same ids
/// with bit-identical unit-scaled vectors and would answer every query identically. An index
/// keeps only the unit-scaled rows it ranks by, never a second copy of the memory's rows (the
/// memory holds those), so its storage is O(N·W) once.
public protocol NearestNeighbourIndex<Scalar>: AnyObject {
    associatedtype Scalar: Real
    var width: Int { get }
    /// Number of stored rows.
    var count: Int { get }
    /// Cumulative number of entries scored by searches.
    var entriesVisited: Int { get }
    func reset()
    func contains(_ id: Int) -> Bool
    /// Stores row `id` with content `vector` (W values), replacing any previous content.
    func insert(id: Int, vector: UnsafePointer<Scalar>)
    func remove(id: Int)
    /// Reverts one `insert` (rollback): restores `previous` as the row's content, or removes the
    /// row when it was new (`previous == nil`). Also gives back any bookkeeping the insert did.
    func undoInsert(id: Int, previous: UnsafePointer<Scalar>?)
    /// Writes up to `k` ids to `results`; returns how many.
    func search(query: UnsafePointer<Scalar>, k: Int, results: UnsafeMutablePointer<Int>) -> Int
    /// A deep copy (O(N)).
    func copy() -> any NearestNeighbourIndex<Scalar>
    func contentsEqual(_ other: any NearestNeighbourIndex<Scalar>) -> Bool
    /// The unit-scaled vector the index stores for `id` (`normalise` of what `insert` got; nil
    /// when absent), for tests and checks.
    func storedVector(_ id: Int) -> [Scalar]?
    /// Whether the structure is due for a rebuild (never for an exact index).
    var needsRebuild: Bool { get }
    /// Rebuilds the structure from the stored rows; must be a deterministic function of them.
    func rebuild()
}

/// The score the indexes rank by: the stored vector scaled to unit length, v / √(‖v‖² + ε),
/// dotted with the raw query. For a fixed query this orders rows exactly as the read's cosine
/// q·m / (√(‖q‖²+ε)·√(‖m‖²+ε) + ε) does, up to the tiny last ε.
@inline(__always)
func normalise<T: Real>(_ v: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, width w: Int) {
    var s: T = 0
    for j in 0..<w { s += v[j] * v[j] }
    let inverse = 1 / (s + T(1e-6)).squareRoot()
    for j in 0..<w { out[j] = v[j] * inverse }
}

/// Bit-for-bit equality of two reals (NaN payloads and signed zeros included).
@inline(__always)
func bitIdentical<T: Real>(_ a: T, _ b: T) -> Bool {
    a.sign == b.sign && a.exponentBitPattern == b.exponentBitPattern && a.significandBitPattern == b.significandBitPattern
}

/// Keeps the k best (score, id) pairs seen, best first; ties to the lower id. O(k) per offer,
/// k is small (4–16).
struct TopK<T: Real> {
    let k: Int
    let scores: UnsafeMutablePointer<T>
    let ids: UnsafeMutablePointer<Int>
    var count = 0

    @inline(__always)
    mutating func offer(_ score: T, _ id: Int) {
        if count == k {
            let last = count - 1
            if score < scores[last] || (score == scores[last] && id > ids[last]) { return }
            count -= 1
        }
        var i = count
        while i > 0 && (scores[i - 1] < score || (scores[i - 1] == score && ids[i - 1] > id)) {
            scores[i] = scores[i - 1]; ids[i] = ids[i - 1]; i -= 1
        }
        scores[i] = score; ids[i] = id
        count += 1
    }
}

/// Exact cosine k-NN: keeps the unit-scaled rows in one contiguous (capacity × W) block and
/// scores all of them with one BLAS product per query. O(count·W) per query, O(W) per
/// insert/remove, O(1) reset. Storage O(N·W) (allocated once, not touched until used).
public final class ExactNeighbourIndex<T: Real>: NearestNeighbourIndex, @unchecked Sendable {
    public typealias Scalar = T
    public let width: Int
    public let capacity: Int
    public private(set) var count = 0
    public private(set) var entriesVisited = 0
    /// Unit-scaled rows by slot.
    private let unit: UnsafeMutablePointer<T>
    /// Sparse set: slotOf[id] is valid iff slotOf[id] < count && idOf[slotOf[id]] == id, so reset
    /// needs no clearing.
    private let slotOf: UnsafeMutablePointer<Int>
    private let idOf: UnsafeMutablePointer<Int>
    private let scores: UnsafeMutablePointer<T>
    private var topScores: [T] = []
    private var topIds: [Int] = []

    public init(capacity: Int, width: Int) {
        self.capacity = capacity
        self.width = width
        unit = .allocate(capacity: Swift.max(capacity * width, 1))
        slotOf = .allocate(capacity: Swift.max(capacity, 1))
        slotOf.initialize(repeating: Int.max, count: Swift.max(capacity, 1))
        idOf = .allocate(capacity: Swift.max(capacity, 1))
        scores = .allocate(capacity: Swift.max(capacity, 1))
    }

    deinit {
        unit.deallocate(); slotOf.deallocate(); idOf.deallocate(); scores.deallocate()
    }

    public func reset() { count = 0 }
    public var needsRebuild: Bool { false }
    public func rebuild() {}

    @inline(__always) private func slot(_ id: Int) -> Int? {
        let s = slotOf[id]
        return s < count && idOf[s] == id ? s : nil
    }

    public func contains(_ id: Int) -> Bool { slot(id) != nil }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func insert(id: Int, vector: UnsafePointer<T>) {
        precondition(id >= 0 && id < capacity, "row \(id) out of range 0..<\(capacity)")
        let s: Int
        if let existing = slot(id) { s = existing } else {
            s = count; count += 1
            slotOf[id] = s; idOf[s] = id
        }
        normalise(vector, into: unit + s * width, width: width)
    }

    public func remove(id: Int) {
        guard let s = slot(id) else { return }
        let last = count - 1
        if s != last {
            let moved = idOf[last]
            (unit + s * width).update(from: unit + last * width, count: width)
            idOf[s] = moved; slotOf[moved] = s
        }
        count -= 1
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func undoInsert(id: Int, previous: UnsafePointer<T>?) {
        if let previous { insert(id: id, vector: previous) } else { remove(id: id) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func search(query: UnsafePointer<T>, k: Int, results: UnsafeMutablePointer<Int>) -> Int {
        guard count > 0, k > 0 else { return 0 }
        Kernels.gemm(transB: true, m: 1, n: count, k: width, a: query, b: unit, beta: 0, c: scores)
        entriesVisited += count
        if topScores.count < k { topScores = Array(repeating: 0, count: k); topIds = Array(repeating: 0, count: k) }
        return topScores.withUnsafeMutableBufferPointer { ts in
            topIds.withUnsafeMutableBufferPointer { ti in
                var top = TopK(k: k, scores: ts.baseAddress!, ids: ti.baseAddress!)
                for s in 0..<count { top.offer(scores[s], idOf[s]) }
                results.update(from: ti.baseAddress!, count: top.count)
                return top.count
            }
        }
    }

    public func storedVector(_ id: Int) -> [T]? {
        guard let s = slot(id) else { return nil }
        return Array(UnsafeBufferPointer(start: unit + s * width, count: width))
    }

    public func copy() -> any NearestNeighbourIndex<T> {
        let c = ExactNeighbourIndex(capacity: capacity, width: width)
        c.unit.update(from: unit, count: count * width)
        c.idOf.update(from: idOf, count: count)
        for s in 0..<count { c.slotOf[idOf[s]] = s }
        c.count = count
        c.entriesVisited = entriesVisited
        return c
    }

    public func contentsEqual(_ other: any NearestNeighbourIndex<T>) -> Bool {
        guard other.count == count, other.width == width else { return false }
        for s in 0..<count {
            guard let v = other.storedVector(idOf[s]) else { return false }
            for j in 0..<width where !bitIdentical(v[j], unit[s * width + j]) { return false }
        }
        return true
    }
}

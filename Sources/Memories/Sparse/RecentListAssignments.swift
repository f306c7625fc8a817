import DNCNumerics

/// The inverted lists of the last few row contents an `ApproximateNeighbourIndex` filed or
/// replaced, keyed by (row id, unit-scaled content bit for bit). Training rewrites the same rows three times per
/// step: the forward's write, the backward's rollback to the previous content, and the model's
/// redo of the write (docs/sparse-memory.md, Backward). Their lists were already found, so the
/// index looks them up here instead of scoring every centroid again (O(L·W) per insert at L = √N
/// lists). Only valid between rebuilds: the index empties it when the centroids change.
struct RecentListAssignments<T: Real> {
    /// Entries kept: a step's writes (R·K + 1 rows) and their previous contents, with room.
    static var capacity: Int { 64 }
    let width: Int
    private var ids: [Int]
    private var lists: [Int]
    private var vectors: [T]
    /// The slot the next entry overwrites (oldest first), and how many slots are filled.
    private var next = 0, filled = 0

    init(width: Int) {
        self.width = width
        ids = Array(repeating: -1, count: Self.capacity)
        lists = Array(repeating: 0, count: Self.capacity)
        vectors = Array(repeating: 0, count: Self.capacity * width)
    }

    mutating func removeAll() { next = 0; filled = 0 }

    /// The list remembered for row `id` with exactly this content (bit for bit), if any.
    func list(id: Int, vector: UnsafePointer<T>) -> Int? {
        for slot in 0..<filled where ids[slot] == id {
            let base = slot * width
            var same = true
            for j in 0..<width where !bitIdentical(vectors[base + j], vector[j]) { same = false; break }
            if same { return lists[slot] }
        }
        return nil
    }

    mutating func remember(id: Int, vector: UnsafePointer<T>, list: Int) {
        ids[next] = id
        lists[next] = list
        vectors.withUnsafeMutableBufferPointer { (($0.baseAddress! + next * width)).update(from: vector, count: width) }
        next = (next + 1) % Self.capacity
        filled = Swift.min(filled + 1, Self.capacity)
    }
}

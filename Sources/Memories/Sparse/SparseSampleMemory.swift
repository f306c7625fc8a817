import DNCNumerics

/// One sample's sparse memory, modified in place (docs/sparse-memory.md, Sample state).
///
/// Storage, allocated once per sample, O(N): the memory rows M (N×W), the last-access time of
/// every cell (N), the LRU list links (2·(N+1)) and the nearest-neighbour index (O(N·W)).
/// Per step everything below is touched in O(R·K) rows/cells; nothing is ever scanned.
///
/// * **Fill pointer and LRU list.** Cells `fresh ..< N` have never been accessed since the last
///   reset; they are the least recently accessed of all, in index order, so the memory fills
///   0, 1, 2, … (docs/sparse-memory.md, Usage and the least recently accessed cell). Cells `0 ..< fresh` sit in a doubly linked list in order of last
///   access (head = least recent, tail = most recent). The LRA cell is `fresh` while
///   `fresh < N`, else the list head: O(1). An access moves a cell to the tail: O(1).
/// * **Lazy reset.** `reset()` sets `fresh = 0`, `step = 0`, empties the list and the index and
///   forgets the previous read: O(1). Rows, times and links of cells ≥ `fresh` are stale and
///   never read (a fresh cell enters through the write's erase, which overwrites its row).
/// * **Step counter** `step`: the time of this sample's memory (per sample, never global).
/// * **Previous read**: the R·K positions (−1 = none) and weights of the last read, which the
///   next write interpolates with (O(R·K)).
/// * **Work counters** (cumulative, for the cost tests): rows written or restored, LRU
///   operations.
public final class SparseSampleMemory<T: Real>: @unchecked Sendable {
    public let cells: Int, width: Int, readSlots: Int
    public internal(set) var fresh = 0
    public internal(set) var step = 0
    let memory: UnsafeMutablePointer<T>
    let lastAccess: UnsafeMutablePointer<Int>
    /// LRU links; index `cells` is the sentinel (next[sentinel] = head, prev[sentinel] = tail).
    let previous: UnsafeMutablePointer<Int>
    let next: UnsafeMutablePointer<Int>
    public internal(set) var previousReadPositions: [Int]
    public internal(set) var previousReadWeights: [T]
    public internal(set) var index: any NearestNeighbourIndex<T>
    /// The SDNC's temporal links and precedence (nil for SAM).
    public let links: SparseLinks<T>?
    public internal(set) var rowsWritten = 0
    public internal(set) var rowsRestored = 0
    public internal(set) var listOperations = 0
    /// Logged steps whose index updates a model's backward left in place (`SparseMemoryTape`,
    /// deferred index undo): the rows are rolled back, the index still holds the end of those
    /// steps, and `restoreFinalState` skips that many steps' index updates. 0 outside a backward.
    public internal(set) var indexAhead = 0

    /// `linksPerCell` > 0 adds SDNC links with that many (K_L) per cell.
    init(cells: Int, width: Int, readSlots: Int, index: any NearestNeighbourIndex<T>, linksPerCell: Int = 0) {
        self.cells = cells
        self.width = width
        self.readSlots = readSlots
        self.index = index
        links = linksPerCell > 0 ? SparseLinks(cells: cells, perCell: linksPerCell) : nil
        memory = .allocate(capacity: cells * width)
        memory.initialize(repeating: 0, count: cells * width)
        lastAccess = .allocate(capacity: cells)
        previous = .allocate(capacity: cells + 1)
        next = .allocate(capacity: cells + 1)
        previousReadPositions = Array(repeating: -1, count: readSlots)
        previousReadWeights = Array(repeating: 0, count: readSlots)
        previous[cells] = cells
        next[cells] = cells
    }

    deinit {
        memory.deallocate(); lastAccess.deallocate(); previous.deallocate(); next.deallocate()
    }

    /// Whether the index already holds the entries of the step being redone, because a model's
    /// backward deferred that step's index undo (`indexAhead`); counts that step off.
    func indexHoldsRedoneStep() -> Bool {
        guard indexAhead > 0 else { return false }
        indexAhead -= 1
        return true
    }

    /// Lazy reset to the empty memory: O(R·K).
    public func reset() {
        fresh = 0
        step = 0
        indexAhead = 0
        previous[cells] = cells
        next[cells] = cells
        index.reset()
        links?.reset()
        for i in 0..<readSlots { previousReadPositions[i] = -1; previousReadWeights[i] = 0 }
    }

    /// Fills an empty (just reset) memory with `count` rows (count×W, cells 0..<count), accessed
    /// at time 0 in cell order, and indexes them (rebuilding the index structure if it needs it).
    /// O(count·W) plus the index build: for warm starts, benchmarks and tests at large N.
    public func preload(rows: UnsafePointer<T>, count: Int) {
        precondition(fresh == 0 && step == 0, "preload needs a freshly reset memory")
        precondition(count <= cells, "cannot preload \(count) rows into \(cells) cells")
        memory.update(from: rows, count: count * width)
        for c in 0..<count {
            links?.clearCell(c)
            _ = access(c, time: 0)
            index.insert(id: c, vector: memory + c * width)
        }
        if index.needsRebuild { index.rebuild() }
    }

    /// The least recently accessed cell, O(1).
    public var leastRecentlyAccessed: Int { fresh < cells ? fresh : next[cells] }

    /// Row `cell` of M (W values). Rows ≥ `fresh` are logically zero.
    public func row(_ cell: Int) -> [T] {
        cell < fresh ? Array(UnsafeBufferPointer(start: memory + cell * width, count: width))
                     : Array(repeating: 0, count: width)
    }

    /// Last-access time of `cell` (0 = never since the reset).
    public func lastAccessTime(_ cell: Int) -> Int { cell < fresh ? lastAccess[cell] : 0 }

    /// Cells from least to most recently accessed (O(N); tests and debugging).
    public func accessOrder() -> [Int] {
        var order: [Int] = []
        var c = next[cells]
        while c != cells { order.append(c); c = next[c] }
        return order + Array(fresh..<cells)
    }

    // MARK: LRU list (each operation O(1); `moveToBack` returns what `undoMove` needs)

    @inline(__always) func unlink(_ c: Int) {
        let p = previous[c], n = next[c]
        next[p] = n; previous[n] = p
    }

    @inline(__always) func append(_ c: Int) {
        let tail = previous[cells]
        next[tail] = c; previous[c] = tail; next[c] = cells; previous[cells] = c
    }

    /// Marks `cell` accessed at `time`: moves it to the back of the list (entering the list if it
    /// is the fresh cell). Returns (old previous, old next) — (−2, −2) for a fresh cell.
    func access(_ cell: Int, time: Int) -> (Int, Int) {
        listOperations += 1
        let old: (Int, Int)
        if cell >= fresh {
            precondition(cell == fresh, "only the fresh cell \(fresh) can enter the list, not \(cell)")
            fresh += 1
            old = (-2, -2)
        } else {
            old = (previous[cell], next[cell])
            unlink(cell)
        }
        append(cell)
        lastAccess[cell] = time
        return old
    }

    /// Reverts `access` (must be undone in reverse order, so `cell` is at the back).
    func undoAccess(_ cell: Int, old: (Int, Int), oldTime: Int) {
        listOperations += 1
        precondition(previous[cells] == cell, "undo out of order: cell \(cell) is not the most recent")
        unlink(cell)
        if old.0 == -2 {
            precondition(cell == fresh - 1, "undo out of order: fresh cell \(cell), fill \(fresh)")
            fresh -= 1
        } else {
            let (p, n) = old
            next[p] = cell; previous[cell] = p; next[cell] = n; previous[n] = cell
        }
        lastAccess[cell] = oldTime
    }

    // MARK: Copies and comparison

    /// A deep copy (O(N·W)), e.g. for checkpoints or to keep the state before a sequence.
    public func copy() -> SparseSampleMemory<T> {
        let c = SparseSampleMemory(cells: cells, width: width, readSlots: readSlots, index: index.copy(),
                                   copyingLinks: links?.copy())
        c.memory.update(from: memory, count: cells * width)
        c.lastAccess.update(from: lastAccess, count: cells)
        c.previous.update(from: previous, count: cells + 1)
        c.next.update(from: next, count: cells + 1)
        c.fresh = fresh; c.step = step; c.indexAhead = indexAhead
        c.previousReadPositions = previousReadPositions
        c.previousReadWeights = previousReadWeights
        return c
    }

    private init(cells: Int, width: Int, readSlots: Int, index: any NearestNeighbourIndex<T>, copyingLinks: SparseLinks<T>?) {
        self.cells = cells
        self.width = width
        self.readSlots = readSlots
        self.index = index
        links = copyingLinks
        memory = .allocate(capacity: cells * width)
        lastAccess = .allocate(capacity: cells)
        previous = .allocate(capacity: cells + 1)
        next = .allocate(capacity: cells + 1)
        previousReadPositions = Array(repeating: -1, count: readSlots)
        previousReadWeights = Array(repeating: 0, count: readSlots)
    }

    /// Whether `other` is the same logical state, bit for bit: fill, step, the rows, times and
    /// list order of the used cells, the previous read, the index contents and the links.
    /// Stale storage of unused cells is ignored.
    public func isIdentical(to other: SparseSampleMemory<T>) -> Bool {
        guard cells == other.cells, width == other.width, fresh == other.fresh, step == other.step,
              previousReadPositions == other.previousReadPositions,
              zip(previousReadWeights, other.previousReadWeights).allSatisfy({ bitIdentical($0, $1) }),
              accessOrder() == other.accessOrder(), index.contentsEqual(other.index),
              (links == nil) == (other.links == nil) else { return false }
        if let links, let otherLinks = other.links, !links.isIdentical(to: otherLinks, used: fresh) { return false }
        for c in 0..<fresh {
            if lastAccess[c] != other.lastAccess[c] { return false }
            for j in 0..<width where !bitIdentical(memory[c * width + j], other.memory[c * width + j]) { return false }
        }
        return true
    }
}

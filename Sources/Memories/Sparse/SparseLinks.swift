import DNCNumerics

/// One sample's sparse temporal link matrix and precedence (SDNC, docs/sparse-temporal-memory.md, Sparse links), keyed by
/// memory cell, modified in place with an undo journal.
///
/// `L(i, j)` is the degree to which cell i was written right after cell j (the DNC's link
/// matrix). Each cell keeps at most K_L predecessors (its row: cells j with `L(i, j) ≠ 0`) and
/// at most K_L successors (its column: cells i with `L(i, j) ≠ 0`). Storing one matrix with both
/// caps makes the paper's forward structure `N = L` and backward structure `P = Lᵀ` exact
/// transposes of each other, so `f = L w` (through the columns) and `b = Lᵀ w` (through the
/// rows) both cost O(K_L) per non-zero of w, independent of N.
///
/// Storage, allocated once, O(N·K_L): per cell a row (targets and values, K_L slots) and a
/// column (sources, K_L slots); no values are stored twice. Cells and counts are 32-bit
/// (4·(3K_L + 2) + K_L·sizeof(T) bytes per cell: 64 MB at 1 M cells, K_L 4, Float). Precedence: at most K_L
/// (cell, value) pairs.
///
/// **Lazy reset.** `reset()` only empties the precedence. A cell's row and column are cleared
/// (`clearCell`) when the cell enters the memory after a reset; entries only ever join cells
/// that have entered, so stale rows and columns are never read.
///
/// **Journal.** While `journal` is set, every change to the row and column storage is appended
/// to it (slot, old and new value), so a step can be undone (reverse order) or redone (forward
/// order) exactly. Precedence changes are recorded by the caller (K_L values).
public final class SparseLinks<T: Real>: @unchecked Sendable {
    public let cells: Int
    /// K_L.
    public let perCell: Int
    let rowTarget: UnsafeMutablePointer<Int32>
    let rowValue: UnsafeMutablePointer<T>
    let rowCount: UnsafeMutablePointer<Int32>
    let columnSource: UnsafeMutablePointer<Int32>
    let columnCount: UnsafeMutablePointer<Int32>
    /// The precedence p: cells and values, at most K_L, in no particular order.
    public internal(set) var precedenceCells: [Int] = []
    public internal(set) var precedenceValues: [T] = []
    var journal: LinkJournal<T>?

    init(cells: Int, perCell: Int) {
        precondition(cells <= Int(Int32.max), "\(cells) cells exceed the link storage's 32-bit cell numbers")
        self.cells = cells
        self.perCell = perCell
        rowTarget = .allocate(capacity: cells * perCell)
        rowValue = .allocate(capacity: cells * perCell)
        rowCount = .allocate(capacity: cells)
        columnSource = .allocate(capacity: cells * perCell)
        columnCount = .allocate(capacity: cells)
        rowTarget.initialize(repeating: 0, count: cells * perCell)
        rowValue.initialize(repeating: 0, count: cells * perCell)
        rowCount.initialize(repeating: 0, count: cells)
        columnSource.initialize(repeating: 0, count: cells * perCell)
        columnCount.initialize(repeating: 0, count: cells)
    }

    deinit {
        rowTarget.deallocate(); rowValue.deallocate(); rowCount.deallocate()
        columnSource.deallocate(); columnCount.deallocate()
    }

    /// Sets the precedence to these cells and values, copied into its own buffers (sharing the
    /// caller's arrays would make the next update copy them).
    func setPrecedence(cells: [Int], values: [T]) {
        precedenceCells.removeAll(keepingCapacity: true)
        precedenceCells.append(contentsOf: cells)
        precedenceValues.removeAll(keepingCapacity: true)
        precedenceValues.append(contentsOf: values)
    }

    /// Empties the precedence (O(1)); rows and columns are cleared as cells enter.
    func reset() { precedenceCells.removeAll(keepingCapacity: true); precedenceValues.removeAll(keepingCapacity: true) }

    // MARK: Reading

    /// L(i, j), 0 when absent. O(K_L).
    public func value(row i: Int, target j: Int) -> T {
        let base = i * perCell, target = Int32(truncatingIfNeeded: j)
        for e in 0..<Int(rowCount[i]) where rowTarget[base + e] == target { return rowValue[base + e] }
        return 0
    }

    /// Number of predecessors of cell i.
    func rowLength(_ i: Int) -> Int { Int(rowCount[i]) }

    /// The predecessors of cell i with their link values.
    public func row(_ i: Int) -> [(cell: Int, value: T)] {
        (0..<Int(rowCount[i])).map { (Int(rowTarget[i * perCell + $0]), rowValue[i * perCell + $0]) }
    }

    /// The successors of cell j (cells i with L(i, j) ≠ 0).
    public func column(_ j: Int) -> [Int] {
        (0..<Int(columnCount[j])).map { Int(columnSource[j * perCell + $0]) }
    }

    /// Calls `body` with each predecessor of cell i and its link value (allocates nothing).
    @inline(__always)
    func forEachInRow(_ i: Int, _ body: (_ cell: Int, _ value: T) -> Void) {
        for e in 0..<Int(rowCount[i]) { body(Int(rowTarget[i * perCell + e]), rowValue[i * perCell + e]) }
    }

    /// Calls `body` with each successor of cell j (allocates nothing).
    @inline(__always)
    func forEachInColumn(_ j: Int, _ body: (_ cell: Int) -> Void) {
        for e in 0..<Int(columnCount[j]) { body(Int(columnSource[j * perCell + e])) }
    }

    /// The precedence weight of `cell`, 0 when absent.
    public func precedence(_ cell: Int) -> T {
        for (e, c) in precedenceCells.enumerated() where c == cell { return precedenceValues[e] }
        return 0
    }

    // MARK: Journaled changes

    @inline(__always) private func set(_ kind: LinkJournal<T>.Storage, _ index: Int, _ new: Int) {
        let p = pointer(kind), value = Int32(truncatingIfNeeded: new)
        journal?.integers.append(.init(storage: kind, index: index, old: p[index], new: value))
        p[index] = value
    }

    @inline(__always) private func setValue(_ index: Int, _ new: T) {
        journal?.reals.append(.init(index: index, old: rowValue[index], new: new))
        rowValue[index] = new
    }

    /// Empties the row and column of a cell entering the memory.
    func clearCell(_ c: Int) {
        if rowCount[c] != 0 { set(.rowCount, c, 0) }
        if columnCount[c] != 0 { set(.columnCount, c, 0) }
    }

    private func removeFromRow(_ i: Int, target j: Int) {
        let base = i * perCell, last = Int(rowCount[i]) - 1
        for e in 0...last where rowTarget[base + e] == Int32(j) {
            if e != last { set(.rowTarget, base + e, Int(rowTarget[base + last])); setValue(base + e, rowValue[base + last]) }
            set(.rowCount, i, last)
            return
        }
        preconditionFailure("link (\(i), \(j)) is not in row \(i)")
    }

    private func removeFromColumn(_ j: Int, source i: Int) {
        let base = j * perCell, last = Int(columnCount[j]) - 1
        for e in 0...last where columnSource[base + e] == Int32(i) {
            if e != last { set(.columnSource, base + e, Int(columnSource[base + last])) }
            set(.columnCount, j, last)
            return
        }
        preconditionFailure("link (\(i), \(j)) is not in column \(j)")
    }

    /// Replaces row i by `entries` (at most K_L, positive values, no target i), keeping the
    /// columns consistent. A new entry joins a full column only if its value exceeds the
    /// column's smallest (ties: the smaller source cell stays), which is then dropped from its
    /// row. O(K_L²).
    func replaceRow(_ i: Int, with entries: [(cell: Int, value: T)]) {
        precondition(entries.count <= perCell, "row \(i) gets \(entries.count) links, at most \(perCell) allowed")
        let base = i * perCell
        // Targets that leave the row leave their columns.
        for e in stride(from: Int(rowCount[i]) - 1, through: 0, by: -1) {
            let j = Int(rowTarget[base + e])
            if !entries.contains(where: { $0.cell == j }) {
                removeFromRow(i, target: j)
                removeFromColumn(j, source: i)
            }
        }
        for entry in entries {
            let j = entry.cell
            precondition(j != i && entry.value > 0, "invalid link (\(i), \(j)) = \(entry.value)")
            if let e = (0..<Int(rowCount[i])).first(where: { rowTarget[base + $0] == Int32(j) }) {
                setValue(base + e, entry.value)
                continue
            }
            if Int(columnCount[j]) == perCell {
                // The column's weakest link, compared with the newcomer.
                var weakest = -1, weakestValue = entry.value, weakestSource = i
                for s in 0..<perCell {
                    let source = Int(columnSource[j * perCell + s]), v = value(row: source, target: j)
                    if v < weakestValue || (v == weakestValue && source > weakestSource) {
                        weakest = s; weakestValue = v; weakestSource = source
                    }
                }
                guard weakest >= 0 else { continue }
                removeFromRow(weakestSource, target: j)
                removeFromColumn(j, source: weakestSource)
            }
            set(.columnSource, j * perCell + Int(columnCount[j]), i)
            set(.columnCount, j, Int(columnCount[j]) + 1)
            let slot = Int(rowCount[i])
            set(.rowTarget, base + slot, j)
            setValue(base + slot, entry.value)
            set(.rowCount, i, slot + 1)
        }
    }

    // MARK: Undo and redo

    func undo(_ journal: LinkJournal<T>) {
        for entry in journal.reals.reversed() { rowValue[entry.index] = entry.old }
        for entry in journal.integers.reversed() { pointer(entry.storage)[entry.index] = entry.old }
    }

    func redo(_ journal: LinkJournal<T>) {
        for entry in journal.integers { pointer(entry.storage)[entry.index] = entry.new }
        for entry in journal.reals { rowValue[entry.index] = entry.new }
    }

    @inline(__always) private func pointer(_ kind: LinkJournal<T>.Storage) -> UnsafeMutablePointer<Int32> {
        switch kind {
        case .rowTarget: return rowTarget
        case .rowCount: return rowCount
        case .columnSource: return columnSource
        case .columnCount: return columnCount
        }
    }

    // MARK: Copies and comparison

    func copy() -> SparseLinks<T> {
        let c = SparseLinks(cells: cells, perCell: perCell)
        c.rowTarget.update(from: rowTarget, count: cells * perCell)
        c.rowValue.update(from: rowValue, count: cells * perCell)
        c.rowCount.update(from: rowCount, count: cells)
        c.columnSource.update(from: columnSource, count: cells * perCell)
        c.columnCount.update(from: columnCount, count: cells)
        c.precedenceCells = precedenceCells
        c.precedenceValues = precedenceValues
        return c
    }

    /// Same links (as sets, values bit for bit) among the first `used` cells, and the same
    /// precedence.
    func isIdentical(to other: SparseLinks<T>, used: Int) -> Bool {
        func sortedRow(_ l: SparseLinks<T>, _ i: Int) -> [(Int, T)] { l.row(i).sorted { $0.cell < $1.cell } }
        guard perCell == other.perCell, precedenceCells == other.precedenceCells,
              zip(precedenceValues, other.precedenceValues).allSatisfy({ bitIdentical($0, $1) }) else { return false }
        for i in 0..<used {
            let a = sortedRow(self, i), b = sortedRow(other, i)
            guard a.count == b.count, zip(a, b).allSatisfy({ $0.0 == $1.0 && bitIdentical($0.1, $1.1) }),
                  column(i).sorted() == other.column(i).sorted() else { return false }
        }
        return true
    }

    /// Every row's targets are in their columns and back, no diagonal, values positive, caps
    /// respected, over the first `used` cells (tests).
    public func isConsistent(used: Int) -> Bool {
        for i in 0..<used {
            guard Int(rowCount[i]) <= perCell, Int(columnCount[i]) <= perCell else { return false }
            for (j, v) in row(i) where j == i || v <= 0 || j >= used || !column(j).contains(i) { return false }
            for s in column(i) where s >= used || value(row: s, target: i) == 0 { return false }
        }
        return true
    }
}

/// The changes one step made to a `SparseLinks`' storage, in order.
struct LinkJournal<T: Real> {
    enum Storage: UInt8 { case rowTarget, rowCount, columnSource, columnCount }
    struct IntegerChange { let storage: Storage; let index: Int; let old: Int32; let new: Int32 }
    struct RealChange { let index: Int; let old: T; let new: T }
    var integers: [IntegerChange] = []
    var reals: [RealChange] = []

    mutating func removeAll() { integers.removeAll(keepingCapacity: true); reals.removeAll(keepingCapacity: true) }
}

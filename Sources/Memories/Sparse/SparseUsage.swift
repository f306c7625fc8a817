import DNCNumerics

/// SAM's usage bookkeeping, shared by the SDNC (docs/sparse-memory.md, "Usage and the least
/// recently accessed cell"): after a step, every written or read cell whose write weight plus
/// head-summed read weight exceeds δ is accessed at the step's time and moves to the back of the
/// LRU list; the least recently accessed cell, which the write erased, always is. Each access is
/// logged (cell, old list neighbours, old time) so that a backward can undo it and a redo replay it.
enum SparseUsage {
    /// One logged access: 4 integers (cell, old previous, old next, old time).
    static let logWidth = 4

    /// Accesses, in order: the write set's cells (`writeCells`, `writeWeights`, `erased`, `count`
    /// entries), then the newly read cells, each once (`positions`, −1 unused, and `weights`,
    /// `slots` each). Logs each access through `log`; returns how many there were.
    @discardableResult
    static func access<T: Real>(_ m: SparseSampleMemory<T>, time: Int, threshold delta: T,
                                writeCells: UnsafePointer<Int>, writeWeights: UnsafePointer<T>, erased: (Int) -> Bool, count: Int,
                                positions: UnsafePointer<Int>, weights: UnsafePointer<T>, slots: Int,
                                log: (_ cell: Int, _ old: (Int, Int), _ oldTime: Int) -> Void) -> Int {
        func readSum(_ c: Int) -> T {
            var s: T = 0
            for p in 0..<slots where positions[p] == c { s += weights[p] }
            return s
        }
        func isWritten(_ c: Int) -> Bool {
            for j in 0..<count where writeCells[j] == c { return true }
            return false
        }
        var moves = 0
        func touch(_ c: Int) {
            let oldTime = c < m.fresh ? m.lastAccess[c] : 0
            log(c, m.access(c, time: time), oldTime)
            moves += 1
        }
        for j in 0..<count where erased(j) || writeWeights[j] + readSum(writeCells[j]) > delta { touch(writeCells[j]) }
        for p in 0..<slots {
            let c = positions[p]
            guard c >= 0, !isWritten(c) else { continue }
            var seen = false
            for q in 0..<p where positions[q] == c { seen = true; break }
            if !seen && readSum(c) > delta { touch(c) }
        }
        return moves
    }

    /// Undoes `count` logged accesses, latest first.
    static func undo<T: Real>(_ m: SparseSampleMemory<T>, log: UnsafePointer<Int>, count: Int) {
        for v in stride(from: count - 1, through: 0, by: -1) {
            m.undoAccess(log[logWidth * v], old: (log[logWidth * v + 1], log[logWidth * v + 2]), oldTime: log[logWidth * v + 3])
        }
    }

    /// Replays `count` logged accesses at `time`, in order.
    static func redo<T: Real>(_ m: SparseSampleMemory<T>, log: UnsafePointer<Int>, count: Int, time: Int) {
        for v in 0..<count { _ = m.access(log[logWidth * v], time: time) }
    }
}

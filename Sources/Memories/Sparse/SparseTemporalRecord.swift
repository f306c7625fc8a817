import DNCNumerics

/// What one SDNC step logs for its backward, undo and redo: the batch's input, raw and activated
/// interface, and one `TemporalSampleRecord` per sample. Buffers are kept and refilled when the
/// tape is reused, so a warm tape allocates nothing per step.
final class TemporalStepRecord<T: Real> {
    var input: [T] = []
    var raw: [T] = []
    var interface: [T] = []
    var samples: [TemporalSampleRecord<T>] = []

    func prepare(batch: Int) {
        while samples.count < batch { samples.append(TemporalSampleRecord()) }
        for s in samples.prefix(batch) { s.clear() }
    }
}

/// One sample's step: every array is O(R·(K+2K_L)·(W+K_L)), independent of N. Sizes, with
/// c = read slots R·(K+2K_L) and m ≤ c+1 written cells:
///
/// | field | size | what |
/// |---|---|---|
/// | previousPositions/Weights | c | the previous read of the state before the step |
/// | writeCells, isLRA, wasFresh, rho, writeWeights | m | the write set: cell, erased, newly entered, ρ, w |
/// | oldRows, newRows | m·W | written rows before and after (undo / redo) |
/// | linkStart, linkCells, linkOld, linkKept | m+1, ≤ m·2K_L | per written cell, the candidate link targets, their values before the step (0 = absent) and whether the row update kept them |
/// | journal | ≤ m·K_L·(K_L+4) | every change to the link storage, in order |
/// | precedenceBefore/After | ≤ K_L each | p_{t−1} and p_t |
/// | positions, weights, scores | c | read slots per head [content K | forward K_L | backward K_L]: cell (−1 unused), read weight, and ω / f / b before the mode |
/// | cosine, rowNorms | R·K | content slots' cosine and √(‖M‖²+ε) |
/// | queryNorms | R | √(‖q‖²+ε) |
/// | found | 3R | slots filled per head: content, forward, backward |
/// | moves | 4 per LRU access | cell, old previous, old next, old time |
final class TemporalSampleRecord<T: Real> {
    var active = false
    var oldStep = 0
    var rebuilt = false
    var previousPositions: [Int] = []
    var previousWeights: [T] = []
    var writeCells: [Int] = []
    var isLRA: [Bool] = []
    var wasFresh: [Bool] = []
    var rho: [T] = []
    var writeWeights: [T] = []
    var oldRows: [T] = []
    var newRows: [T] = []
    var linkStart: [Int] = []
    var linkCells: [Int] = []
    var linkOld: [T] = []
    var linkKept: [Bool] = []
    var journal = LinkJournal<T>()
    var precedenceBeforeCells: [Int] = []
    var precedenceBeforeValues: [T] = []
    var precedenceAfterCells: [Int] = []
    var precedenceAfterValues: [T] = []
    var writeSum: T = 0
    var positions: [Int] = []
    var weights: [T] = []
    var scores: [T] = []
    var cosine: [T] = []
    var rowNorms: [T] = []
    var queryNorms: [T] = []
    var found: [Int] = []
    var moves: [Int] = []

    func clear() {
        active = false; rebuilt = false; writeSum = 0
        previousPositions.removeAll(keepingCapacity: true); previousWeights.removeAll(keepingCapacity: true)
        writeCells.removeAll(keepingCapacity: true); isLRA.removeAll(keepingCapacity: true)
        wasFresh.removeAll(keepingCapacity: true); rho.removeAll(keepingCapacity: true)
        writeWeights.removeAll(keepingCapacity: true); oldRows.removeAll(keepingCapacity: true)
        newRows.removeAll(keepingCapacity: true); linkStart.removeAll(keepingCapacity: true)
        linkCells.removeAll(keepingCapacity: true); linkOld.removeAll(keepingCapacity: true)
        linkKept.removeAll(keepingCapacity: true); journal.removeAll()
        precedenceBeforeCells.removeAll(keepingCapacity: true); precedenceBeforeValues.removeAll(keepingCapacity: true)
        precedenceAfterCells.removeAll(keepingCapacity: true); precedenceAfterValues.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true); weights.removeAll(keepingCapacity: true)
        scores.removeAll(keepingCapacity: true); cosine.removeAll(keepingCapacity: true)
        rowNorms.removeAll(keepingCapacity: true); queryNorms.removeAll(keepingCapacity: true)
        found.removeAll(keepingCapacity: true); moves.removeAll(keepingCapacity: true)
    }

    /// p_{t−1}(cell), 0 when absent.
    func precedenceBefore(_ cell: Int) -> T {
        for (e, c) in precedenceBeforeCells.enumerated() where c == cell { return precedenceBeforeValues[e] }
        return 0
    }

    /// Index in the write set of `cell`, or nil.
    func writeSlot(_ cell: Int) -> Int? { writeCells.firstIndex(of: cell) }
}

/// The SDNC keeps SAM's write set in its growable record.
extension TemporalSampleRecord: SparseWriteSet {
    typealias Scalar = T
    var count: Int { writeCells.count }
    func entry(of cell: Int) -> Int? { writeSlot(cell) }

    func append(cell: Int, rho value: T, erased: Bool, fresh: Bool) {
        writeCells.append(cell); rho.append(value); isLRA.append(erased); wasFresh.append(fresh)
    }

    func addRho(_ value: T, to entry: Int) { rho[entry] += value }
    func markErased(_ entry: Int) { isLRA[entry] = true }
}

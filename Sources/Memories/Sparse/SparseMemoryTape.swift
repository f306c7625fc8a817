import DNCNumerics

/// What a sparse memory's forward logs for its backward and its rollback: one record per step,
/// O(B·R·K·W) each, independent of N (layout: `SparseRecordLayout`). The tape also keeps a
/// reference to the state it was recorded on, because the backward rolls that state back in
/// place. Record buffers are reused after `reset()`, so a warm tape allocates nothing per step.
///
/// One tape per sequence in flight, one memory, one batch size and one state per sequence.
public final class SparseMemoryTape<T: Real>: @unchecked Sendable {
    public private(set) var steps = 0
    private(set) var batch = 0
    private(set) var recordSize = 0
    private(set) var integerRecordSize = 0
    private(set) weak var owner: AnyObject?
    /// The state the steps modified (rolled back by `backwardStep`).
    public private(set) var state: SparseMemoryState<T>?
    private var reals: [UnsafeMutablePointer<T>] = []
    private var integers: [UnsafeMutablePointer<Int>] = []
    /// Indexes as they were before a step rebuilt them, by step·batch + sample (O(N) each, one
    /// per rebuild, i.e. amortised O(R·K·W) per step).
    var indexSnapshots: [Int: any NearestNeighbourIndex<T>] = [:]
    /// The SDNC's records (variable-size logs), reused after `reset()`.
    private var temporalRecords: [TemporalStepRecord<T>] = []

    public init() {}

    deinit {
        for p in reals { p.deallocate() }
        for p in integers { p.deallocate() }
    }

    /// Set by a model's backward (`beginBackward`) until `endBackward` has restored the final
    /// state: the backward then rolls back the rows but leaves the index as it is, since nothing
    /// searches it before the restore, which would put every entry back (docs/sparse-memory.md,
    /// Efficient backward). Saves two of every three index updates of a training step.
    var defersIndexUndo = false

    /// Forgets every record (their buffers are reused) and the state reference.
    public func reset() { steps = 0; state = nil; indexSnapshots = [:]; defersIndexUndo = false }

    func appendRecord(owner: AnyObject, state: SparseMemoryState<T>, batch: Int, recordSize: Int,
                      integerRecordSize: Int) -> (reals: UnsafeMutablePointer<T>, integers: UnsafeMutablePointer<Int>) {
        if steps == 0 {
            if recordSize != self.recordSize || integerRecordSize != self.integerRecordSize {
                for p in reals { p.deallocate() }
                for p in integers { p.deallocate() }
                reals = []; integers = []
            }
            self.owner = owner
            self.state = state
            self.batch = batch
            self.recordSize = recordSize
            self.integerRecordSize = integerRecordSize
        }
        precondition(owner === self.owner && batch == self.batch && recordSize == self.recordSize && state === self.state,
                     "a tape records one memory, one state and one batch size per sequence; call reset() between sequences")
        if steps == reals.count {
            reals.append(.allocate(capacity: Swift.max(recordSize, 1)))
            integers.append(.allocate(capacity: Swift.max(integerRecordSize, 1)))
        }
        steps += 1
        return (reals[steps - 1], integers[steps - 1])
    }

    /// Before sample `b`'s step in the step just appended: rebuilds its index if the index is due,
    /// keeping a copy of the old one when this tape records for a backward. Returns whether it
    /// rebuilt (the step's record keeps that flag). Every forward step of SAM and the SDNC comes
    /// here first, so this is where a forward refuses an index left ahead of its rows.
    func rebuildIndexIfDue(_ m: SparseSampleMemory<T>, sample b: Int, recording: Bool) -> Bool {
        precondition(m.indexAhead == 0, "sample \(b): a backward began (beginBackward) and has not ended (endBackward); its index is ahead of its rows")
        guard m.index.needsRebuild else { return false }
        if recording { indexSnapshots[(steps - 1) * batch + b] = m.index.copy() }
        m.index.rebuild()
        return true
    }

    /// After a backward step has undone sample `b`'s step `step` (its index entries only when
    /// they are not deferred): with `defersIndexUndo` the step is counted in the sample's
    /// `indexAhead`; otherwise an index the step rebuilt is put back as it was before.
    func indexUndone(_ m: SparseSampleMemory<T>, step: Int, sample b: Int, rebuilt: Bool) {
        if defersIndexUndo { m.indexAhead += 1 } else if rebuilt { restoreIndex(m, step: step, sample: b) }
    }

    /// After undoing a step that rebuilt sample `b`'s index: puts back the index from before.
    func restoreIndex(_ m: SparseSampleMemory<T>, step: Int, sample b: Int) {
        guard let snapshot = indexSnapshots[step * batch + b] else {
            preconditionFailure("no index snapshot for the rebuild at step \(step)")
        }
        m.index = snapshot.copy()
    }

    /// The SDNC's counterpart of `appendRecord`: a cleared record for the next step.
    func appendTemporalRecord(owner: AnyObject, state: SparseMemoryState<T>, batch: Int) -> TemporalStepRecord<T> {
        if steps == 0 {
            self.owner = owner
            self.state = state
            self.batch = batch
        }
        precondition(owner === self.owner && batch == self.batch && state === self.state,
                     "a tape records one memory, one state and one batch size per sequence; call reset() between sequences")
        if steps == temporalRecords.count { temporalRecords.append(TemporalStepRecord()) }
        steps += 1
        let record = temporalRecords[steps - 1]
        record.prepare(batch: batch)
        return record
    }

    func temporalRecord(_ step: Int) -> TemporalStepRecord<T> {
        precondition(step >= 0 && step < steps && step < temporalRecords.count, "step \(step) is not on the tape (\(steps) steps)")
        return temporalRecords[step]
    }

    func record(_ step: Int) -> (reals: UnsafeMutablePointer<T>, integers: UnsafeMutablePointer<Int>) {
        precondition(step >= 0 && step < steps, "step \(step) is not on the tape (\(steps) steps)")
        return (reals[step], integers[step])
    }
}

/// Offsets in one step's record. Batch sections first (input B·I, raw ẑ B·S, ξ B·S), then one
/// block per sample (`sampleSize` reals, `sampleIntegers` integers) with, per sample
/// (c₁ = R·K + 1 = most cells one write touches, RK = R·K):
///
/// | reals | size | what |
/// |---|---|---|
/// | previousReadWeights | RK | ρ slots of the state before the step |
/// | cellRho | c₁ | ρ summed per written cell |
/// | writeWeights | c₁ | w per written cell |
/// | oldRows, newRows | c₁·W | the written rows before and after (undo / redo log) |
/// | readWeights, readCosine, readNorms | RK | ω, cos, √(‖M(s)‖²+ε) of the read rows |
/// | queryNorms | R | √(‖q‖²+ε) |
///
/// | integers | size | what |
/// |---|---|---|
/// | active, oldStep, writeCount, moveCount, rebuilt | 1 each | rebuilt: the index was rebuilt first |
/// | previousReadPositions | RK | positions of the state before the step |
/// | writeCells, isLRA, wasFresh | c₁ each | written cells, erase flag, newly inserted |
/// | readPositions | RK | head-major, −1 = fewer than K rows stored |
/// | readCounts | R | neighbours found per head |
/// | moves | (2RK+1)·4 | LRU accesses in order: cell, old previous, old next, old time |
struct SparseRecordLayout {
    let input: Int, raw: Int, interface: Int
    let samples: Int, sampleSize: Int
    let previousReadWeights = 0
    let cellRho: Int, writeWeights: Int, oldRows: Int, newRows: Int
    let readWeights: Int, readCosine: Int, readNorms: Int, queryNorms: Int
    // Integers.
    let active = 0, oldStep = 1, writeCount = 2, moveCount = 3, rebuilt = 4
    let previousReadPositions = 5
    let writeCells: Int, isLRA: Int, wasFresh: Int, readPositions: Int, readCounts: Int, moves: Int
    let sampleIntegers: Int
    let size: Int, integerSize: Int
    let maxWrites: Int, maxMoves: Int

    init(batch b: Int, inputSize i: Int, interfaceSize s: Int, width w: Int, readHeads r: Int, neighbours k: Int) {
        let rk = r * k, c1 = rk + 1
        maxWrites = c1
        maxMoves = 2 * rk + 1
        input = 0; raw = b * i; interface = raw + b * s; samples = interface + b * s
        cellRho = rk; writeWeights = cellRho + c1; oldRows = writeWeights + c1; newRows = oldRows + c1 * w
        readWeights = newRows + c1 * w; readCosine = readWeights + rk; readNorms = readCosine + rk
        queryNorms = readNorms + rk
        sampleSize = queryNorms + r
        size = samples + b * sampleSize
        writeCells = previousReadPositions + rk; isLRA = writeCells + c1; wasFresh = isLRA + c1
        readPositions = wasFresh + c1; readCounts = readPositions + rk; moves = readCounts + r
        sampleIntegers = moves + 4 * maxMoves
        integerSize = b * sampleIntegers
    }
}

import DNCNumerics
import DNCLayers

/// Sparse Access Memory (SAM, Rae et al. 2016), as the paper describes it (docs/sparse-memory.md), at sparse cost.
///
/// Per sample and step (t = the sample's own step counter + 1), in this order:
/// 1. **Write** (paper eqs. 3, 5, 8): the write set is the previous read's cells (deduplicated,
///    ρ(u) = sum of the previous read weights on cell u over heads and slots — the head
///    aggregation of docs/sparse-memory.md, "Sparse write") plus the least recently accessed cell ℓ (O(1), from the LRU list).
///    `w(u) = α(γ ρ(u) + (1−γ) I(u))` with `I(u) = [u = ℓ]`; `M(ℓ) ← 0` (erased at every step,
///    whatever α and γ), then `M(u) += w(u)·a` for every u. The index is told about each row.
/// 2. **Read** (eq. 4): per head i, the K stored rows nearest to q_i by cosine (from the index;
///    fewer while fewer rows are stored), `ω_i = softmax_K(cos(q_i, M(s)))`, `r_i = Σ ω M(s)`.
/// 3. **Usage** (U^(2)): every written or read cell whose write weight plus head-summed read
///    weight exceeds δ is accessed at time t and moves to the back of the LRU list; ℓ always
///    does (popping the LRA word makes it the most recent, Supp. A.3).
/// 4. The read positions and weights become the state's previous read.
///
/// **In place, logged, rolled back** (docs/sparse-memory.md, "Efficient backward"): `step` changes at most R·K+1 rows and 2R·K+1 list
/// entries per sample and logs their old and new values on the tape. `backwardStep` (steps in
/// reverse) computes the sparse gradients and then reverts its step, so after the backward of
/// step 0 the state is bit-identical to the state before the sequence. `restoreFinalState(tape:)`
/// re-applies the logged updates (O(T·R·K·W)), leaving the state bit-identical to the end of
/// the forward pass, which is what the next truncated-BPTT segment expects. Nothing in a step,
/// its backward, its undo or its redo is O(N), except the exact index's scan.
///
/// **State gradient** (`SparseMemoryStateGradient`): dℓ/dM only for the rows that received
/// gradient (sparse rows), plus dℓ/d(previous read weights). `backwardStep` maps dℓ/d(state
/// after step t) to dℓ/d(state before step t). Positions, times, the LRU order and the index
/// carry no gradient.
///
/// Not reentrant (scratch per instance); one step or backward step at a time.
public final class SparseMemory<T: Real>: @unchecked Sendable {
    public let inputSize: Int, cellCount: Int, cellWidth: Int, readHeads: Int
    /// K (`sparseReads`, reduced to N if larger).
    public let sparseReads: Int
    public let independentLinears: Bool
    public let indexKind: SparseIndexKind
    public let options: SparseMemoryOptions
    public let store: ParameterStore<T>
    let layout: SparseInterfaceLayout
    /// The interface layer(s): one (S, in) block, or one per field.
    let interface: InterfaceProjection<T>
    private let inferenceTape = SparseMemoryTape<T>()
    /// The calls recorded on this memory's states, and its reusable fresh state.
    public let callHistory = SparseCallHistory<T>()
    private var lastTape: SparseMemoryTape<T>?
    private var lastStepIndex = -1
    private var scratch: [T] = []
    /// The backward's per-sample slots and read-weight gradients, reused.
    private let backwardSlots = ReusableBuffer<Int>(zero: -1)
    private let backwardGradients = ReusableBuffer<T>(zero: 0)
    /// Test hook: record the neighbour lists of every search, or replay them (holds the index
    /// results fixed for finite differences).
    var neighbourScript: NeighbourScript?

    /// S = R·W + W + 2.
    public var interfaceSize: Int { layout.size }
    /// The interface weights' copies (transposed for the forward, stacked as they are for the
    /// input gradient); the model activates them around each forward and backward pass.
    public var interfaceWeightCopies: [WeightCopies<T>] { interface.weightCopies }
    /// R·K.
    public var readSlots: Int { readHeads * sparseReads }

    public init(store: ParameterStore<T>, prefix: String, inputSize: Int, cellCount: Int, cellWidth: Int,
                readHeads: Int, sparseReads: Int = 4, independentLinears: Bool = false,
                index: SparseIndexKind = .exact, options: SparseMemoryOptions = .paper) {
        precondition(inputSize >= 1 && cellCount >= 1 && cellWidth >= 1 && readHeads >= 1 && sparseReads >= 1,
                     "sparse memory sizes must be positive: in \(inputSize), N \(cellCount), W \(cellWidth), R \(readHeads), K \(sparseReads)")
        self.inputSize = inputSize
        self.cellCount = cellCount
        self.cellWidth = cellWidth
        self.readHeads = readHeads
        precondition(sparseReads <= cellCount, "K \(sparseReads) exceeds N \(cellCount) (see DNCConfiguration.validate)")
        self.sparseReads = sparseReads
        self.independentLinears = independentLinears
        self.indexKind = index
        self.options = options
        self.store = store
        layout = SparseInterfaceLayout(cellWidth: cellWidth, readHeads: readHeads)
        let names = ["read_query_transform", "write_vector_transform", "interpolation_gate_transform",
                         "write_gate_transform"]
        interface = InterfaceProjection(store: store, prefix: prefix, inputSize: inputSize, size: layout.size,
                                        independent: independentLinears,
                                        blocks: zip(names, layout.fieldBlocks).map { ($0, $1.offset, $1.length) })
    }

    /// pytorch-dnc's initialisation (docs/dense-memory.md, "Initialisation"): weights U(±√(6/in)), biases U(±1/√in).
    public func initializeDefault(random: CounterRandom, stream: UInt64) {
        interface.initializeDefault(store: store, random: random, stream: stream)
    }

    /// A new index for one sample.
    public func makeIndex() -> any NearestNeighbourIndex<T> { indexKind.makeIndex(capacity: cellCount, width: cellWidth) }

    /// The empty memory for `batch` samples. Allocates the O(N·W) per-sample storage (once);
    /// reuse a state across sequences with `state.reset()` (lazy, O(1) per sample).
    public func zeroState(batch: Int) -> SparseMemoryState<T> {
        SparseMemoryState(samples: (0..<batch).map { _ in
            SparseSampleMemory(cells: cellCount, width: cellWidth, readSlots: readSlots, index: makeIndex())
        })
    }

    /// An all-zero state gradient for `batch` samples.
    public func zeroStateGradient(batch: Int) -> SparseMemoryStateGradient<T> {
        SparseMemoryStateGradient(batch: batch, width: cellWidth, readSlots: readSlots)
    }

    func recordLayout(batch: Int) -> SparseRecordLayout {
        SparseRecordLayout(batch: batch, inputSize: inputSize, interfaceSize: layout.size, width: cellWidth,
                           readHeads: readHeads, neighbours: sparseReads)
    }

    // MARK: Step

    /// One write-then-read step for the batch. `input` (B×inputSize) → interface → memory step;
    /// writes the read vectors (B×R×W, head-major) and modifies `state` in place. With a tape,
    /// logs the step for `backwardStep`/`restoreFinalState`; without, uses an internal one-step
    /// record. `active` (B flags): inactive samples are left untouched and read zeros.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(input: UnsafePointer<T>, batch: Int, state: SparseMemoryState<T>, tape: SparseMemoryTape<T>?,
                     active: [Bool]? = nil, readVectors: UnsafeMutablePointer<T>) {
        precondition(state.batch == batch, "state has batch \(state.batch), expected \(batch)")
        precondition(state.samples.allSatisfy { $0.cells == cellCount && $0.width == cellWidth && $0.readSlots == readSlots },
                     "state does not match this memory's N, W, R·K")
        precondition(active == nil || active!.count == batch, "need one active flag per sample")
        guard batch > 0 else { return }
        let l = recordLayout(batch: batch), s = layout.size
        let recording = tape ?? inferenceTape
        if tape == nil { inferenceTape.reset() }
        let (rec, ints) = recording.appendRecord(owner: self, state: state, batch: batch, recordSize: l.size,
                                                 integerRecordSize: l.integerSize)
        lastTape = recording
        lastStepIndex = recording.steps - 1
        let x = rec + l.input
        x.update(from: input, count: batch * inputSize)
        for b in 0..<batch where !(active?[b] ?? true) { Kernels.fill(x + b * inputSize, count: inputSize, with: 0) }
        interface.forward(store: store, input: x, batch: batch, raw: rec + l.raw)
        for b in 0..<batch {
            let isActive = active?[b] ?? true
            let sr = rec + l.samples + b * l.sampleSize, si = ints + b * l.sampleIntegers
            si[l.active] = isActive ? 1 : 0
            let out = readVectors + b * readHeads * cellWidth
            guard isActive else { Kernels.fill(out, count: readHeads * cellWidth, with: 0); continue }
            let xi = rec + l.interface + b * s
            layout.activate(raw: rec + l.raw + b * s, out: xi)
            let m = state.samples[b]
            si[l.rebuilt] = recording.rebuildIndexIfDue(m, sample: b, recording: tape != nil) ? 1 : 0
            sampleForward(m, xi: xi, rec: sr, ints: si, layout: l, readVectors: out)
        }
    }

    private func sampleForward(_ m: SparseSampleMemory<T>, xi: UnsafePointer<T>, rec: UnsafeMutablePointer<T>,
                               ints: UnsafeMutablePointer<Int>, layout l: SparseRecordLayout,
                               readVectors out: UnsafeMutablePointer<T>) {
        let w = cellWidth, k = sparseReads, rk = readSlots
        let time = m.step + 1
        ints[l.oldStep] = m.step
        // Log the previous read.
        for p in 0..<rk {
            ints[l.previousReadPositions + p] = m.previousReadPositions[p]
            rec[l.previousReadWeights + p] = m.previousReadWeights[p]
        }
        // 1. Write.
        var set = RecordWriteSet(rec: rec, ints: ints, layout: l)
        LeastRecentlyAccessedWrite.buildSet(&set, previousPositions: ints + l.previousReadPositions,
                                            previousWeights: rec + l.previousReadWeights, slots: rk,
                                            lra: m.leastRecentlyAccessed, lraIsFresh: m.leastRecentlyAccessed >= m.fresh)
        ints[l.writeCount] = set.count
        let a = xi + layout.writeVector, gamma = xi[layout.interpolationGate], alpha = xi[layout.writeGate]
        for j in 0..<set.count {
            let c = ints[l.writeCells + j], row = m.memory + c * w, erased = ints[l.isLRA + j] != 0
            let weight = LeastRecentlyAccessedWrite.weight(alpha: alpha, gamma: gamma, rho: rec[l.cellRho + j], erased: erased)
            rec[l.writeWeights + j] = weight
            (rec + l.oldRows + j * w).update(from: row, count: w)
            LeastRecentlyAccessedWrite.writeRow(row, weight: weight, writeVector: a, erased: erased, width: w)
            (rec + l.newRows + j * w).update(from: row, count: w)
            m.index.insert(id: c, vector: row)
            m.rowsWritten += 1
        }
        // 2. Read: per head, the K nearest stored rows (fewer while fewer are stored).
        let positions = ints + l.readPositions, weights = rec + l.readWeights
        for i in 0..<readHeads {
            let q = xi + layout.readQueries + i * w, pos = positions + i * k
            let found: Int
            if let script = neighbourScript {
                found = script.next(search: { m.index.search(query: q, k: k, results: pos) }, into: pos)
            } else {
                found = m.index.search(query: q, k: k, results: pos)
            }
            for j in found..<k { pos[j] = -1 }
            ints[l.readCounts + i] = found
            let wi = weights + i * k, ci = rec + l.readCosine + i * k, ni = rec + l.readNorms + i * k
            for j in 0..<k { wi[j] = 0; ci[j] = 0; ni[j] = 0 }
            rec[l.queryNorms + i] = SparseContentRead.forward(query: q, strength: 1, memory: m.memory, positions: pos, found: found,
                                                              width: w, rowNorms: ni, cosine: ci, weights: wi)
            SparseContentRead.readVector(weights: wi, positions: pos, slots: k, memory: m.memory, width: w, out: out + i * w)
        }
        // 3. Usage.
        let log = ints + l.moves
        var logged = 0
        ints[l.moveCount] = SparseUsage.access(m, time: time, threshold: T(options.accessThreshold),
                                               writeCells: ints + l.writeCells, writeWeights: rec + l.writeWeights,
                                               erased: { ints[l.isLRA + $0] != 0 }, count: set.count,
                                               positions: positions, weights: weights, slots: rk) { c, old, oldTime in
            let entry = log + SparseUsage.logWidth * logged
            entry[0] = c; entry[1] = old.0; entry[2] = old.1; entry[3] = oldTime
            logged += 1
        }
        // 4. The read becomes the previous read.
        for p in 0..<rk {
            m.previousReadPositions[p] = positions[p]
            m.previousReadWeights[p] = weights[p]
        }
        m.step = time
    }

    // MARK: Backward and rollback

    /// Backward of step `stepIndex` (in reverse order of recording), then its rollback: the
    /// tape's state must be exactly the state after that step (all later steps rolled back) and
    /// is returned to the state before it. `readVectorsGradient` (B×R×W); `stateGradient` holds
    /// dℓ/d(state after the step) and is replaced by dℓ/d(state before it); `inputGradient`
    /// (B×inputSize) is overwritten; parameter gradients accumulate into the store.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backwardStep(tape: SparseMemoryTape<T>, stepIndex: Int, readVectorsGradient: UnsafePointer<T>,
                             stateGradient: inout SparseMemoryStateGradient<T>, inputGradient: UnsafeMutablePointer<T>) {
        precondition(tape.owner === self, "this tape was recorded by another memory")
        guard let state = tape.state else { preconditionFailure("the tape holds no state") }
        let batch = tape.batch, s = layout.size
        precondition(stateGradient.samples.count == batch, "state gradient has the wrong batch size")
        let l = recordLayout(batch: batch)
        let (rec, ints) = tape.record(stepIndex)
        if scratch.count < batch * s { scratch = Array(repeating: 0, count: batch * s) }
        scratch.withUnsafeMutableBufferPointer { buffer in
            let dz = buffer.baseAddress!
            Kernels.fill(dz, count: batch * s, with: 0)
            for b in 0..<batch {
                let sr = rec + l.samples + b * l.sampleSize, si = ints + b * l.sampleIntegers
                guard si[l.active] != 0 else { continue }
                let m = state.samples[b]
                precondition(m.step == si[l.oldStep] + 1,
                             "sample \(b) is at step \(m.step), but the backward of its step \(si[l.oldStep] + 1) needs the state right after it")
                sampleBackward(m, xi: rec + l.interface + b * s, rec: sr, ints: si, layout: l,
                               readGradient: readVectorsGradient + b * readHeads * cellWidth,
                               gradient: &stateGradient.samples[b], dxi: dz + b * s)
                undo(m, rec: sr, ints: si, layout: l, index: !tape.defersIndexUndo)
                tape.indexUndone(m, step: stepIndex, sample: b, rebuilt: si[l.rebuilt] != 0)
                layout.activationBackward(activated: rec + l.interface + b * s, gradient: dz + b * s)
            }
            interface.backward(store: store, input: rec + l.input, rawGradient: dz, batch: batch, inputGradient: inputGradient)
        }
    }

    private func sampleBackward(_ m: SparseSampleMemory<T>, xi: UnsafePointer<T>, rec: UnsafePointer<T>,
                                ints: UnsafePointer<Int>, layout l: SparseRecordLayout, readGradient dr: UnsafePointer<T>,
                                gradient g: inout SparseSampleGradient<T>, dxi: UnsafeMutablePointer<T>) {
        let w = cellWidth, k = sparseReads, rk = readSlots
        let positions = ints + l.readPositions, count = ints[l.writeCount]
        // Slots for every row that gets gradient (before taking pointers).
        let readSlot = backwardSlots.take(rk + count, filledWith: -1), writeSlot = readSlot + rk
        for p in 0..<rk where positions[p] >= 0 { readSlot[p] = g.slot(positions[p]) }
        for j in 0..<count { writeSlot[j] = g.slot(ints[l.writeCells + j]) }
        // dℓ/dω_t from later steps, dℓ/d(previous read weights), dℓ/dω of one head.
        let later = backwardGradients.take(2 * rk + k, filledWith: 0), dPrevious = later + rk, dOmega = dPrevious + rk
        for p in 0..<rk { later[p] = g.readWeights[p] }
        g.values.withUnsafeMutableBufferPointer { vb in
            let gm = vb.baseAddress!
            // Read (on M_t, which is the live memory now).
            for i in 0..<readHeads where ints[l.readCounts + i] > 0 {
                let base = i * k
                SparseContentRead.readVectorBackward(weights: rec + l.readWeights + base, positions: positions + base, slots: k,
                                                     memory: m.memory, width: w, readGradient: dr + i * w,
                                                     laterGradient: later + base, slotGradient: dOmega,
                                                     rowGradient: { gm + readSlot[base + $0] * w })
                _ = SparseContentRead.backward(query: xi + layout.readQueries + i * w, strength: 1, mode: 1, memory: m.memory,
                                               positions: positions + base, found: ints[l.readCounts + i], width: w,
                                               queryNorm: rec[l.queryNorms + i], rowNorms: rec + l.readNorms + base,
                                               cosine: rec + l.readCosine + base, weights: rec + l.readWeights + base,
                                               slotGradient: dOmega, queryGradient: dxi + layout.readQueries + i * w,
                                               rowGradient: { gm + readSlot[base + $0] * w })
            }
            // Write: dℓ/dM_t(u) → dℓ/dw(u), dℓ/da; then dℓ/dM_{t−1}(u).
            let a = xi + layout.writeVector, gamma = xi[layout.interpolationGate], alpha = xi[layout.writeGate]
            var dGamma: T = 0, dAlpha: T = 0
            for j in 0..<count {
                let d = LeastRecentlyAccessedWrite.backwardCell(
                    rowGradient: gm + writeSlot[j] * w, writeVector: a, writeVectorGradient: dxi + layout.writeVector,
                    weight: rec[l.writeWeights + j], weightGradient: 0, rho: rec[l.cellRho + j], erased: ints[l.isLRA + j] != 0,
                    alpha: alpha, gamma: gamma, width: w)
                dAlpha += d.alpha
                dGamma += d.gamma
                for p in 0..<rk where ints[l.previousReadPositions + p] == ints[l.writeCells + j] { dPrevious[p] = d.rho }
            }
            dxi[layout.interpolationGate] += dGamma
            dxi[layout.writeGate] += dAlpha
        }
        for p in 0..<rk { g.readWeights[p] = dPrevious[p] }
    }

    /// Reverts one sample's step: previous read and step counter, LRU accesses (reverse order),
    /// rows and (unless `index` is false) index entries. O(R·K·W).
    private func undo(_ m: SparseSampleMemory<T>, rec: UnsafePointer<T>, ints: UnsafePointer<Int>,
                      layout l: SparseRecordLayout, index: Bool = true) {
        let w = cellWidth
        for p in 0..<readSlots {
            m.previousReadPositions[p] = ints[l.previousReadPositions + p]
            m.previousReadWeights[p] = rec[l.previousReadWeights + p]
        }
        m.step = ints[l.oldStep]
        SparseUsage.undo(m, log: ints + l.moves, count: ints[l.moveCount])
        for j in stride(from: ints[l.writeCount] - 1, through: 0, by: -1) {
            let c = ints[l.writeCells + j], row = m.memory + c * w
            LeastRecentlyAccessedWrite.undoRow(row, cell: c, oldRow: rec + l.oldRows + j * w, newRow: rec + l.newRows + j * w,
                                               width: w, step: m.step + 1)
            if index { m.index.undoInsert(id: c, previous: ints[l.wasFresh + j] != 0 ? nil : UnsafePointer(row)) }
            m.rowsRestored += 1
        }
    }

    public func rollBack(tape: SparseMemoryTape<T>) {
        precondition(tape.steps == 0 || tape.owner === self, "this tape was recorded by another memory")
        guard let state = tape.state, tape.steps > 0 else { return }
        let l = recordLayout(batch: tape.batch)
        for t in stride(from: tape.steps - 1, through: 0, by: -1) {
            let (rec, ints) = tape.record(t)
            for b in 0..<tape.batch {
                let sr = rec + l.samples + b * l.sampleSize, si = ints + b * l.sampleIntegers
                guard si[l.active] != 0 else { continue }
                let m = state.samples[b]
                precondition(m.step == si[l.oldStep] + 1, "sample \(b) is at step \(m.step), not at the end of logged step \(t)")
                undo(m, rec: sr, ints: si, layout: l)
                if si[l.rebuilt] != 0 { tape.restoreIndex(m, step: t, sample: b) }
            }
        }
    }

    /// Re-applies every logged step of `tape` (after the backward has rolled the state back to the
    /// start of the sequence), leaving the state bit-identical to the end of the forward pass.
    /// O(T·R·K·W); no search, no arithmetic beyond copying.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func restoreFinalState(tape: SparseMemoryTape<T>) {
        guard let state = tape.state, tape.steps > 0 else { return }
        let l = recordLayout(batch: tape.batch), w = cellWidth
        for t in 0..<tape.steps {
            let (rec, ints) = tape.record(t)
            for b in 0..<tape.batch {
                let sr = rec + l.samples + b * l.sampleSize, si = ints + b * l.sampleIntegers
                guard si[l.active] != 0 else { continue }
                let m = state.samples[b]
                precondition(m.step == si[l.oldStep], "sample \(b) is not at the start of logged step \(t)")
                let indexCurrent = m.indexHoldsRedoneStep()
                if !indexCurrent && si[l.rebuilt] != 0 { m.index.rebuild() }
                for j in 0..<si[l.writeCount] {
                    let c = si[l.writeCells + j], row = m.memory + c * w
                    row.update(from: sr + l.newRows + j * w, count: w)
                    if !indexCurrent { m.index.insert(id: c, vector: row) }
                    m.rowsWritten += 1
                }
                SparseUsage.redo(m, log: si + l.moves, count: si[l.moveCount], time: si[l.oldStep] + 1)
                for p in 0..<readSlots {
                    m.previousReadPositions[p] = si[l.readPositions + p]
                    m.previousReadWeights[p] = sr[l.readWeights + p]
                }
                m.step = si[l.oldStep] + 1
            }
        }
    }

    // MARK: Debug

    /// Debug record of the most recent step for one batch element (see `SparseMemoryDebugRecord`).
    public func lastStepDebugRecord(batchElement b: Int, memoryWindow: Int) -> SparseMemoryDebugRecord<T> {
        guard let tape = lastTape, tape.owner === self, lastStepIndex < tape.steps, let state = tape.state else {
            preconditionFailure("no step recorded yet (or its tape was reset)")
        }
        precondition(b >= 0 && b < tape.batch, "batch element \(b) out of range 0..<\(tape.batch)")
        let l = recordLayout(batch: tape.batch), w = cellWidth, r = readHeads, k = sparseReads
        let (rec, ints) = tape.record(lastStepIndex)
        let sr = rec + l.samples + b * l.sampleSize, si = ints + b * l.sampleIntegers
        let active = si[l.active] != 0
        let count = active ? si[l.writeCount] : 0
        let m = state.samples[b]
        var visible = Tensor<T>(shape: [r * k, w]), usage = Tensor<T>(shape: [r, k])
        var positions = Tensor<T>(shape: [r, k], repeating: -1), weights = Tensor<T>(shape: [r, k])
        if active {
            for p in 0..<(r * k) {
                let c = si[l.readPositions + p]
                positions[flat: p] = T(c)
                weights[flat: p] = sr[l.readWeights + p]
                guard c >= 0 else { continue }
                for e in 0..<w { visible[flat: p * w + e] = m.memory[c * w + e] }
                usage[flat: p] = T(m.lastAccessTime(c))
            }
        }
        return SparseMemoryDebugRecord(
            memory: memoryWindow > 0 ? m.window(memoryWindow)
                : Tensor(shape: [count, w], storage: Array(UnsafeBufferPointer(start: sr + l.newRows, count: count * w))),
            writePositions: Tensor(shape: [1, count], storage: (0..<count).map { T(si[l.writeCells + $0]) }),
            writeWeights: Tensor(shape: [1, count], storage: Array(UnsafeBufferPointer(start: sr + l.writeWeights, count: count))),
            visibleMemory: visible, readPositions: positions, readWeights: weights, usage: usage,
            leastUsedMemory: Tensor(shape: [1, 1], storage: [T(m.leastRecentlyAccessed)]))
    }
}

/// SAM's write set in its fixed-size step record (at most R·K + 1 cells).
private struct RecordWriteSet<T: Real>: SparseWriteSet {
    let rec: UnsafeMutablePointer<T>
    let ints: UnsafeMutablePointer<Int>
    let layout: SparseRecordLayout
    private(set) var count = 0

    init(rec: UnsafeMutablePointer<T>, ints: UnsafeMutablePointer<Int>, layout: SparseRecordLayout) {
        self.rec = rec
        self.ints = ints
        self.layout = layout
    }

    func entry(of cell: Int) -> Int? {
        for j in 0..<count where ints[layout.writeCells + j] == cell { return j }
        return nil
    }

    mutating func append(cell: Int, rho: T, erased: Bool, fresh: Bool) {
        ints[layout.writeCells + count] = cell
        rec[layout.cellRho + count] = rho
        ints[layout.isLRA + count] = erased ? 1 : 0
        ints[layout.wasFresh + count] = fresh ? 1 : 0
        count += 1
    }

    mutating func addRho(_ value: T, to entry: Int) { rec[layout.cellRho + entry] += value }
    mutating func markErased(_ entry: Int) { ints[layout.isLRA + entry] = 1 }
}

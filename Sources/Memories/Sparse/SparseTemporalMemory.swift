import DNCNumerics
import DNCLayers

/// The Sparse DNC's memory (Rae et al. 2016, Supp. D; docs/sparse-temporal-memory.md): SAM's sparse reads,
/// writes and usage plus sparse temporal links, all at a per-step cost independent of N.
///
/// Per sample and step (t = the sample's step counter + 1), in this order:
/// 1. **Write**, as SAM (`SparseMemory`): the write set is the previous read's cells (ρ(u) = sum
///    of the previous read weights on u, over heads and slots) plus the least recently accessed
///    cell ℓ; `w(u) = α(γ ρ(u) + (1−γ)[u = ℓ])`; `M(ℓ) ← 0`, then `M(u) += w(u)·a`.
/// 2. **Links** (paper eq. 19 with the DNC's zero diagonal): for every written u,
///    `L(u, j) ← (1 − w(u)) L(u, j) + w(u) p(j)`, j ≠ u, then u's row keeps its K_L largest links
///    (and every cell at most K_L successors, see `SparseLinks`). Since the backward structure is
///    `Lᵀ` itself, eq. 20 is the same update.
/// 3. **Precedence** (eqs. 10–11): `p ← (1 − Σ_u w(u)) p + w`, cut to its K_L largest entries
///    (not renormalised; the paper says neither).
/// 4. **Read**, per head i: content weights `ω = softmax_K(β_i cos(q_i, M(s)))` over the K
///    nearest rows; forward weights `f = L wʳ_{t−1,i}` and backward `b = Lᵀ wʳ_{t−1,i}` from the
///    head's own previous read, each cut to its K_L largest entries; then
///    `wʳ_i = π_b b + π_f f + π_c ω` (the DNC's read modes) and `r_i = Σ wʳ_i M`. A head reads
///    c_h = K + 2K_L slots [content | forward | backward]; a cell may fill several.
/// 5. **Usage**: as SAM (write weight plus head-summed read weight above δ).
///
/// In place, logged and rolled back like SAM: the link storage changes are journaled
/// (`SparseLinks`), so `backwardStep` leaves the state bit-identical to the state before the
/// step and `restoreFinalState` redoes a whole sequence. The state gradient adds dℓ/dL for the
/// present links and dℓ/dp to SAM's sparse rows and previous-read weights (with
/// `linkGradients`; otherwise the links and precedence are constants, as in the paper).
///
/// Not reentrant (scratch per instance); one step or backward step at a time.
public final class SparseTemporalMemory<T: Real>: SparseMemoryModule, @unchecked Sendable {
    public typealias Scalar = T
    public let inputSize: Int, cellCount: Int, cellWidth: Int, readHeads: Int
    /// K (`sparse_reads`, reduced to N if larger).
    public let sparseReads: Int
    /// K_L (`temporal_reads`, reduced to N − 1 if larger, at least 1).
    public let temporalReads: Int
    public let independentLinears: Bool
    public let indexKind: SparseIndexKind
    public let options: SparseTemporalOptions
    public let store: ParameterStore<T>
    let layout: SparseTemporalInterfaceLayout
    let interface: InterfaceProjection<T>
    private let inferenceTape = SparseMemoryTape<T>()
    /// The calls recorded on this memory's states, and its reusable fresh state.
    public let callHistory = SparseCallHistory<T>()
    private var lastTape: SparseMemoryTape<T>?
    private var lastStepIndex = -1
    private var scratch: [T] = []
    /// The backward's per-sample slots and gradients, reused.
    private let backwardSlots = ReusableBuffer<Int>(zero: -1)
    private let backwardGradients = ReusableBuffer<T>(zero: 0)
    private var scores: [Int: T] = [:]
    /// Reused per step: link and precedence candidates, and the content read's neighbours.
    private var candidates: [(cell: Int, value: T)] = []
    private var neighbours: [Int] = []
    /// Test hook, as `SparseMemory.neighbourScript`.
    var neighbourScript: NeighbourScript?
    /// Test hook: called with (sample, its memory) after the link and precedence updates,
    /// before the read (to record or overwrite the link values).
    var afterLinkUpdate: ((Int, SparseSampleMemory<T>) -> Void)?

    public var interfaceSize: Int { layout.size }
    /// The interface weights' copies (transposed for the forward, stacked as they are for the
    /// input gradient); the model activates them around each forward and backward pass.
    public var interfaceWeightCopies: [WeightCopies<T>] { interface.weightCopies }
    /// Slots per head, K + 2K_L.
    public var slotsPerHead: Int { sparseReads + 2 * temporalReads }
    /// R·(K + 2K_L).
    public var readSlots: Int { readHeads * slotsPerHead }
    public var maximumWrites: Int { readSlots + 1 }

    public init(store: ParameterStore<T>, prefix: String, inputSize: Int, cellCount: Int, cellWidth: Int,
                readHeads: Int, sparseReads: Int = 4, temporalReads: Int = 4, independentLinears: Bool = false,
                index: SparseIndexKind = .exact, options: SparseTemporalOptions = SparseTemporalOptions()) {
        precondition(inputSize >= 1 && cellCount >= 2 && cellWidth >= 1 && readHeads >= 1 && sparseReads >= 1 && temporalReads >= 1,
                     "SDNC sizes must be positive (N ≥ 2): in \(inputSize), N \(cellCount), W \(cellWidth), R \(readHeads), K \(sparseReads), K_L \(temporalReads)")
        self.inputSize = inputSize
        self.cellCount = cellCount
        self.cellWidth = cellWidth
        self.readHeads = readHeads
        precondition(sparseReads <= cellCount && temporalReads <= cellCount - 1,
                     "K \(sparseReads) or K_L \(temporalReads) exceeds N \(cellCount) or N − 1 (see DNCConfiguration.validate)")
        self.sparseReads = sparseReads
        self.temporalReads = temporalReads
        self.independentLinears = independentLinears
        self.indexKind = index
        self.options = options
        self.store = store
        layout = SparseTemporalInterfaceLayout(cellWidth: cellWidth, readHeads: readHeads)
        interface = InterfaceProjection(store: store, prefix: prefix, inputSize: inputSize, size: layout.size,
                                        independent: independentLinears, blocks: layout.fieldBlocks)
    }

    public func initializeDefault(random: CounterRandom, stream: UInt64) {
        interface.initializeDefault(store: store, random: random, stream: stream)
    }

    public func makeIndex() -> any NearestNeighbourIndex<T> { indexKind.makeIndex(capacity: cellCount, width: cellWidth) }

    public func zeroState(batch: Int) -> SparseMemoryState<T> {
        SparseMemoryState(samples: (0..<batch).map { _ in
            SparseSampleMemory(cells: cellCount, width: cellWidth, readSlots: readSlots, index: makeIndex(),
                               linksPerCell: temporalReads)
        })
    }

    public func zeroStateGradient(batch: Int) -> SparseMemoryStateGradient<T> {
        SparseMemoryStateGradient(batch: batch, width: cellWidth, readSlots: readSlots)
    }

    // MARK: Step

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(input: UnsafePointer<T>, batch: Int, state: SparseMemoryState<T>, tape: SparseMemoryTape<T>?,
                     active: [Bool]? = nil, readVectors: UnsafeMutablePointer<T>) {
        precondition(state.batch == batch, "state has batch \(state.batch), expected \(batch)")
        precondition(state.samples.allSatisfy { $0.cells == cellCount && $0.width == cellWidth && $0.readSlots == readSlots
                                                 && $0.links?.perCell == temporalReads },
                     "state does not match this memory's N, W, read slots and K_L")
        precondition(active == nil || active!.count == batch, "need one active flag per sample")
        guard batch > 0 else { return }
        let s = layout.size
        let recording = tape ?? inferenceTape
        if tape == nil { inferenceTape.reset() }
        let record = recording.appendTemporalRecord(owner: self, state: state, batch: batch)
        lastTape = recording
        lastStepIndex = recording.steps - 1
        record.input.removeAll(keepingCapacity: true)
        record.input.append(contentsOf: UnsafeBufferPointer(start: input, count: batch * inputSize))
        for b in 0..<batch where !(active?[b] ?? true) {
            for e in 0..<inputSize { record.input[b * inputSize + e] = 0 }
        }
        if record.raw.count != batch * s { record.raw = Array(repeating: 0, count: batch * s) }
        if record.interface.count != batch * s { record.interface = Array(repeating: 0, count: batch * s) }
        record.input.withUnsafeBufferPointer { x in
            record.raw.withUnsafeMutableBufferPointer { z in
                interface.forward(store: store, input: x.baseAddress!, batch: batch, raw: z.baseAddress!)
            }
        }
        for b in 0..<batch {
            let sample = record.samples[b]
            sample.active = active?[b] ?? true
            let out = readVectors + b * readHeads * cellWidth
            guard sample.active else { Kernels.fill(out, count: readHeads * cellWidth, with: 0); continue }
            record.raw.withUnsafeBufferPointer { z in
                record.interface.withUnsafeMutableBufferPointer { xi in
                    layout.activate(raw: z.baseAddress! + b * s, out: xi.baseAddress! + b * s)
                }
            }
            let m = state.samples[b]
            sample.rebuilt = recording.rebuildIndexIfDue(m, sample: b, recording: tape != nil)
            record.interface.withUnsafeBufferPointer { xi in
                sampleForward(m, sample: b, xi: xi.baseAddress! + b * s, record: sample, readVectors: out)
            }
        }
    }

    private func sampleForward(_ m: SparseSampleMemory<T>, sample b: Int, xi: UnsafePointer<T>, record r: TemporalSampleRecord<T>,
                               readVectors out: UnsafeMutablePointer<T>) {
        let w = cellWidth, links = m.links!
        let a = xi + layout.writeVector, gamma = xi[layout.interpolationGate], alpha = xi[layout.writeGate]
        let time = m.step + 1
        r.oldStep = m.step
        r.previousPositions.append(contentsOf: m.previousReadPositions)
        r.previousWeights.append(contentsOf: m.previousReadWeights)
        links.journal = r.journal
        r.journal = LinkJournal()
        defer { r.journal = links.journal!; links.journal = nil }

        // 1. Write: SAM's, to the previous read's cells (ρ summed) and the LRA cell.
        var set = r
        r.previousPositions.withUnsafeBufferPointer { positions in
            r.previousWeights.withUnsafeBufferPointer { weights in
                LeastRecentlyAccessedWrite.buildSet(&set, previousPositions: positions.baseAddress!, previousWeights: weights.baseAddress!,
                                                    slots: readSlots, lra: m.leastRecentlyAccessed,
                                                    lraIsFresh: m.leastRecentlyAccessed >= m.fresh)
            }
        }
        for j in r.writeCells.indices {
            let c = r.writeCells[j], row = m.memory + c * w
            let weight = LeastRecentlyAccessedWrite.weight(alpha: alpha, gamma: gamma, rho: r.rho[j], erased: r.isLRA[j])
            r.writeWeights.append(weight)
            r.oldRows.append(contentsOf: UnsafeBufferPointer(start: row, count: w))
            LeastRecentlyAccessedWrite.writeRow(row, weight: weight, writeVector: a, erased: r.isLRA[j], width: w)
            r.newRows.append(contentsOf: UnsafeBufferPointer(start: row, count: w))
            if r.wasFresh[j] { links.clearCell(c) }
            m.index.insert(id: c, vector: row)
            m.rowsWritten += 1
        }
        // 2. Links, from the precedence before the step; 3. precedence.
        linksForward(links, record: r)
        precedenceForward(links, record: r)
        afterLinkUpdate?(b, m)
        // 4. Read.
        readForward(m, xi: xi, record: r, readVectors: out)
        // 5. Usage, as SAM's: written cells (ℓ always), then newly read cells, each once.
        usageForward(m, record: r, time: time)
        // 6. The read becomes the previous read.
        for p in 0..<readSlots {
            m.previousReadPositions[p] = r.positions[p]
            m.previousReadWeights[p] = r.weights[p]
        }
        m.step = time
    }

    /// The written rows' links (docs/sparse-temporal-memory.md, "Sparse links"):
    /// L(u, j) ← (1 − w(u)) L(u, j) + w(u) p_{t−1}(j) over u's present links and p_{t−1}'s cells,
    /// each row cut to its K_L largest; the candidates, their old values and which were kept are
    /// recorded for the backward.
    private func linksForward(_ links: SparseLinks<T>, record r: TemporalSampleRecord<T>) {
        let kl = temporalReads
        r.precedenceBeforeCells.append(contentsOf: links.precedenceCells)
        r.precedenceBeforeValues.append(contentsOf: links.precedenceValues)
        for j in r.writeCells.indices {
            let u = r.writeCells[j], wu = r.writeWeights[j]
            r.linkStart.append(r.linkCells.count)
            let start = r.linkCells.count
            links.forEachInRow(u) { target, value in r.linkCells.append(target); r.linkOld.append(value) }
            for target in r.precedenceBeforeCells where target != u && !r.linkCells[start...].contains(target) {
                r.linkCells.append(target); r.linkOld.append(0)
            }
            candidates.removeAll(keepingCapacity: true)
            for e in start..<r.linkCells.count {
                let target = r.linkCells[e]
                let value = (1 - wu) * r.linkOld[e] + wu * r.precedenceBefore(target)
                candidates.append((target, value))
            }
            Self.keepLargest(&candidates, count: kl)
            for e in start..<r.linkCells.count { r.linkKept.append(candidates.contains { $0.cell == r.linkCells[e] }) }
            links.replaceRow(u, with: candidates)
        }
        r.linkStart.append(r.linkCells.count)
    }

    /// p_t = (1 − Σ_u w(u)) p_{t−1} + w, cut to its K_L largest entries
    /// (docs/sparse-temporal-memory.md, "Sparse precedence").
    private func precedenceForward(_ links: SparseLinks<T>, record r: TemporalSampleRecord<T>) {
        r.writeSum = r.writeWeights.reduce(0, +)
        candidates.removeAll(keepingCapacity: true)
        for (e, c) in r.precedenceBeforeCells.enumerated() {
            candidates.append((c, (1 - r.writeSum) * r.precedenceBeforeValues[e]))
        }
        for (j, c) in r.writeCells.enumerated() {
            if let e = candidates.firstIndex(where: { $0.cell == c }) { candidates[e].value += r.writeWeights[j] } else {
                candidates.append((c, r.writeWeights[j]))
            }
        }
        Self.keepLargest(&candidates, count: temporalReads)
        links.precedenceCells.removeAll(keepingCapacity: true)
        links.precedenceValues.removeAll(keepingCapacity: true)
        for entry in candidates { links.precedenceCells.append(entry.cell); links.precedenceValues.append(entry.value) }
        // Copied element by element: sharing the arrays would make the next step's update copy them.
        r.precedenceAfterCells.append(contentsOf: links.precedenceCells)
        r.precedenceAfterValues.append(contentsOf: links.precedenceValues)
    }

    /// SAM's usage bookkeeping (`SparseUsage`) over this step's write set and read slots, logged
    /// in the record.
    private func usageForward(_ m: SparseSampleMemory<T>, record r: TemporalSampleRecord<T>, time: Int) {
        r.writeCells.withUnsafeBufferPointer { cells in
            r.writeWeights.withUnsafeBufferPointer { writeWeights in
                r.positions.withUnsafeBufferPointer { positions in
                    r.weights.withUnsafeBufferPointer { weights in
                        _ = SparseUsage.access(m, time: time, threshold: T(options.accessThreshold), writeCells: cells.baseAddress!,
                                           writeWeights: writeWeights.baseAddress!, erased: { r.isLRA[$0] }, count: cells.count,
                                           positions: positions.baseAddress!, weights: weights.baseAddress!, slots: readSlots) { c, old, oldTime in
                            r.moves.append(c); r.moves.append(old.0); r.moves.append(old.1); r.moves.append(oldTime)
                        }
                    }
                }
            }
        }
    }

    /// Keeps the `count` largest positive entries, largest first (ties: smaller cell first), in
    /// place: an insertion sort over the few candidates (at most a few times K_L), which
    /// allocates nothing.
    static func keepLargest(_ entries: inout [(cell: Int, value: T)], count: Int) {
        entries.removeAll { !($0.value > 0) }
        for i in entries.indices.dropFirst() {
            let entry = entries[i]
            var j = i
            while j > 0 && (entry.value > entries[j - 1].value || (entry.value == entries[j - 1].value && entry.cell < entries[j - 1].cell)) {
                entries[j] = entries[j - 1]
                j -= 1
            }
            entries[j] = entry
        }
        if entries.count > count { entries.removeLast(entries.count - count) }
    }

    private func readForward(_ m: SparseSampleMemory<T>, xi: UnsafePointer<T>, record r: TemporalSampleRecord<T>,
                             readVectors out: UnsafeMutablePointer<T>) {
        let w = cellWidth, k = sparseReads, kl = temporalReads, ch = slotsPerHead, links = m.links!
        func refill<E>(_ array: inout [E], _ value: E, _ count: Int) {
            array.removeAll(keepingCapacity: true)
            array.append(contentsOf: repeatElement(value, count: count))
        }
        refill(&r.positions, -1, readSlots); refill(&r.weights, 0, readSlots); refill(&r.scores, 0, readSlots)
        refill(&r.cosine, 0, readHeads * k); refill(&r.rowNorms, 0, readHeads * k); refill(&r.found, 0, 3 * readHeads)
        refill(&neighbours, -1, k)
        for i in 0..<readHeads {
            let q = xi + layout.readQueries + i * w, beta = xi[layout.readStrengths + i]
            let modes = xi + layout.readModes + 3 * i
            let base = i * ch
            // Content: the K nearest stored rows, ω = softmax(β cos), weight π_c ω.
            let found = neighbours.withUnsafeMutableBufferPointer { pos -> Int in
                if let script = neighbourScript {
                    return script.next(search: { m.index.search(query: q, k: k, results: pos.baseAddress!) }, into: pos.baseAddress!)
                }
                return m.index.search(query: q, k: k, results: pos.baseAddress!)
            }
            r.found[3 * i] = found
            for j in 0..<found { r.positions[base + j] = neighbours[j] }
            let nq = r.positions.withUnsafeBufferPointer { positions in
                r.rowNorms.withUnsafeMutableBufferPointer { norms in
                    r.cosine.withUnsafeMutableBufferPointer { cosine in
                        r.scores.withUnsafeMutableBufferPointer { scores in
                            SparseContentRead.forward(query: q, strength: beta, memory: m.memory, positions: positions.baseAddress! + base,
                                                      found: found, width: w, rowNorms: norms.baseAddress! + i * k,
                                                      cosine: cosine.baseAddress! + i * k, weights: scores.baseAddress! + base)
                        }
                    }
                }
            }
            r.queryNorms.append(nq)
            for j in 0..<found { r.weights[base + j] = modes[2] * r.scores[base + j] }
            // Forward f = L w_prev (through the columns) and backward b = Lᵀ w_prev (the rows).
            for direction in 0..<2 {
                scores.removeAll(keepingCapacity: true)
                for s in base..<(base + ch) {
                    let c = r.previousPositions[s], weight = r.previousWeights[s]
                    guard c >= 0 else { continue }
                    if direction == 0 {
                        links.forEachInColumn(c) { n in scores[n, default: 0] += links.value(row: n, target: c) * weight }
                    } else {
                        links.forEachInRow(c) { n, v in scores[n, default: 0] += v * weight }
                    }
                }
                candidates.removeAll(keepingCapacity: true)
                for (cell, value) in scores { candidates.append((cell, value)) }
                Self.keepLargest(&candidates, count: kl)
                let offset = base + k + direction * kl, mode = modes[1 - direction]
                r.found[3 * i + 1 + direction] = candidates.count
                for (j, entry) in candidates.enumerated() {
                    r.positions[offset + j] = entry.cell
                    r.scores[offset + j] = entry.value
                    r.weights[offset + j] = mode * entry.value
                }
            }
            r.weights.withUnsafeBufferPointer { weights in
                r.positions.withUnsafeBufferPointer { positions in
                    SparseContentRead.readVector(weights: weights.baseAddress! + base, positions: positions.baseAddress! + base, slots: ch,
                                                 memory: m.memory, width: w, out: out + i * w)
                }
            }
        }
    }

    // MARK: Backward and rollback

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backwardStep(tape: SparseMemoryTape<T>, stepIndex: Int, readVectorsGradient: UnsafePointer<T>,
                             stateGradient: inout SparseMemoryStateGradient<T>, inputGradient: UnsafeMutablePointer<T>) {
        precondition(tape.owner === self, "this tape was recorded by another memory")
        guard let state = tape.state else { preconditionFailure("the tape holds no state") }
        let batch = tape.batch, s = layout.size
        precondition(stateGradient.samples.count == batch, "state gradient has the wrong batch size")
        let record = tape.temporalRecord(stepIndex)
        if scratch.count < batch * s { scratch = Array(repeating: 0, count: batch * s) }
        scratch.withUnsafeMutableBufferPointer { buffer in
            let dz = buffer.baseAddress!
            Kernels.fill(dz, count: batch * s, with: 0)
            for b in 0..<batch {
                let sample = record.samples[b]
                guard sample.active else { continue }
                let m = state.samples[b]
                precondition(m.step == sample.oldStep + 1,
                             "sample \(b) is at step \(m.step), but the backward of its step \(sample.oldStep + 1) needs the state right after it")
                record.interface.withUnsafeBufferPointer { xi in
                    sampleBackward(m, xi: xi.baseAddress! + b * s, record: sample,
                                   readGradient: readVectorsGradient + b * readHeads * cellWidth,
                                   gradient: &stateGradient.samples[b], dxi: dz + b * s)
                }
                undo(m, record: sample, index: !tape.defersIndexUndo)
                tape.indexUndone(m, step: stepIndex, sample: b, rebuilt: sample.rebuilt)
                record.raw.withUnsafeBufferPointer { z in
                    record.interface.withUnsafeBufferPointer { xi in
                        layout.activationBackward(raw: z.baseAddress! + b * s, activated: xi.baseAddress! + b * s, gradient: dz + b * s)
                    }
                }
            }
            record.input.withUnsafeBufferPointer { x in
                interface.backward(store: store, input: x.baseAddress!, rawGradient: dz, batch: batch, inputGradient: inputGradient)
            }
        }
    }

    private func sampleBackward(_ m: SparseSampleMemory<T>, xi: UnsafePointer<T>, record r: TemporalSampleRecord<T>,
                                readGradient dr: UnsafePointer<T>, gradient g: inout SparseSampleGradient<T>,
                                dxi: UnsafeMutablePointer<T>) {
        let w = cellWidth, writes = r.writeCells.count
        let readSlot = backwardSlots.take(readSlots + writes, filledWith: -1), writeSlot = readSlot + readSlots
        for p in 0..<readSlots where r.positions[p] >= 0 { readSlot[p] = g.slot(r.positions[p]) }
        for j in 0..<writes { writeSlot[j] = g.slot(r.writeCells[j]) }
        // dℓ/d(read weights) from later steps, dℓ/d(previous read weights), dℓ/dw(u), one head's dℓ/d(slot).
        let later = backwardGradients.take(2 * readSlots + writes + slotsPerHead, filledWith: 0)
        let dPrevious = later + readSlots, dWrite = dPrevious + readSlots, dSlot = dWrite + writes
        for p in 0..<readSlots { later[p] = g.readWeights[p] }
        var linkGradient = options.linkGradients ? g.links : [:]
        g.values.withUnsafeMutableBufferPointer { vb in
            let gm = vb.baseAddress!
            // Read (on M_t and L_t, the live state).
            for i in 0..<readHeads {
                headBackward(m, head: i, xi: xi, record: r, readGradient: dr + i * w, laterGradient: later,
                             rowGradient: { gm + readSlot[$0] * w }, interfaceGradient: dxi, slotGradient: dSlot,
                             previousReadGradient: dPrevious, linkGradient: &linkGradient)
            }
            if options.linkGradients {
                g.precedence = linksBackward(record: r, precedenceGradient: g.precedence, linkGradient: &linkGradient,
                                             writeWeightGradient: dWrite)
            }
            // Write: dℓ/dM_t(u) and dℓ/dw(u) → dℓ/da, dα, dγ, dρ; then dℓ/dM_{t−1}(u).
            let a = xi + layout.writeVector, da = dxi + layout.writeVector
            let gamma = xi[layout.interpolationGate], alpha = xi[layout.writeGate]
            var dGamma: T = 0, dAlpha: T = 0
            for j in r.writeCells.indices {
                let d = LeastRecentlyAccessedWrite.backwardCell(
                    rowGradient: gm + writeSlot[j] * w, writeVector: a, writeVectorGradient: da, weight: r.writeWeights[j],
                    weightGradient: dWrite[j], rho: r.rho[j], erased: r.isLRA[j], alpha: alpha, gamma: gamma, width: w)
                dAlpha += d.alpha
                dGamma += d.gamma
                for p in 0..<readSlots where r.previousPositions[p] == r.writeCells[j] { dPrevious[p] += d.rho }
            }
            dxi[layout.interpolationGate] += dGamma
            dxi[layout.writeGate] += dAlpha
        }
        for p in 0..<readSlots { g.readWeights[p] = dPrevious[p] }
        if options.linkGradients { g.links = linkGradient }
    }

    /// Backward of read head i (docs/sparse-temporal-memory.md, "Reads with read modes"): the
    /// read vector over the head's slots, the content slots' softmax and cosine, and the
    /// temporal slots' scores f = L w_prev and b = Lᵀ w_prev, into dℓ/dq, dℓ/dβ, dℓ/dπ, the rows'
    /// gradients (`rowGradient(slot)`), the previous read weights' and the links'.
    private func headBackward(_ m: SparseSampleMemory<T>, head i: Int, xi: UnsafePointer<T>, record r: TemporalSampleRecord<T>,
                              readGradient dri: UnsafePointer<T>, laterGradient later: UnsafePointer<T>,
                              rowGradient: (Int) -> UnsafeMutablePointer<T>, interfaceGradient dxi: UnsafeMutablePointer<T>,
                              slotGradient dSlot: UnsafeMutablePointer<T>, previousReadGradient dPrevious: UnsafeMutablePointer<T>,
                              linkGradient: inout [LinkKey: T]) {
        let w = cellWidth, k = sparseReads, kl = temporalReads, ch = slotsPerHead, base = i * ch, links = m.links!
        let modes = xi + layout.readModes + 3 * i, dModes = dxi + layout.readModes + 3 * i
        dSlot.update(repeating: 0, count: ch)
        r.weights.withUnsafeBufferPointer { weights in
            r.positions.withUnsafeBufferPointer { positions in
                SparseContentRead.readVectorBackward(weights: weights.baseAddress! + base, positions: positions.baseAddress! + base,
                                                     slots: ch, memory: m.memory, width: w, readGradient: dri,
                                                     laterGradient: later + base, slotGradient: dSlot,
                                                     rowGradient: { rowGradient(base + $0) })
            }
        }
        // Content: weight = π_c ω, ω = softmax(β cos).
        let found = r.found[3 * i]
        if found > 0 {
            for j in 0..<found { dModes[2] += r.scores[base + j] * dSlot[j] }
            let dBeta = r.positions.withUnsafeBufferPointer { positions in
                r.rowNorms.withUnsafeBufferPointer { norms in
                    r.cosine.withUnsafeBufferPointer { cosine in
                        r.scores.withUnsafeBufferPointer { omega in
                            SparseContentRead.backward(query: xi + layout.readQueries + i * w, strength: xi[layout.readStrengths + i],
                                                       mode: modes[2], memory: m.memory, positions: positions.baseAddress! + base,
                                                       found: found, width: w, queryNorm: r.queryNorms[i],
                                                       rowNorms: norms.baseAddress! + i * k, cosine: cosine.baseAddress! + i * k,
                                                       weights: omega.baseAddress! + base, slotGradient: dSlot,
                                                       queryGradient: dxi + layout.readQueries + i * w,
                                                       rowGradient: { rowGradient(base + $0) })
                        }
                    }
                }
            }
            dxi[layout.readStrengths + i] += dBeta
        }
        // Forward (direction 0) and backward (1): weight = π · score, score = Σ_s L(·) w_prev(s).
        for direction in 0..<2 {
            let offset = k + direction * kl, mode = modes[1 - direction]
            for j in 0..<r.found[3 * i + 1 + direction] {
                let slot = base + offset + j, n = r.positions[slot]
                dModes[1 - direction] += r.scores[slot] * dSlot[offset + j]
                let dScore = mode * dSlot[offset + j]
                for s in base..<(base + ch) {
                    let c = r.previousPositions[s]
                    guard c >= 0 else { continue }
                    let key = direction == 0 ? LinkKey(row: n, target: c) : LinkKey(row: c, target: n)
                    let v = links.value(row: key.row, target: key.target)
                    guard v != 0 else { continue }
                    dPrevious[s] += dScore * v
                    if options.linkGradients { linkGradient[key, default: 0] += dScore * r.previousWeights[s] }
                }
            }
        }
    }

    /// Backward of the step's precedence and link updates (docs/sparse-temporal-memory.md,
    /// "Gradients through the links"): turns dℓ/dp_t into dℓ/dp_{t−1} (returned) and dℓ/dL_t of
    /// the written rows into dℓ/dL_{t−1}, adding what the write weights receive to
    /// `writeWeightGradient`.
    private func linksBackward(record r: TemporalSampleRecord<T>, precedenceGradient: [Int: T], linkGradient: inout [LinkKey: T],
                               writeWeightGradient dWrite: UnsafeMutablePointer<T>) -> [Int: T] {
        // Precedence: p_t(c) = (1 − S) p_{t−1}(c) + w(c), kept cells only.
        var dPrecedence: [Int: T] = [:]
        var dSum: T = 0
        for c in r.precedenceAfterCells {
            let gp = precedenceGradient[c] ?? 0
            guard gp != 0 else { continue }
            if r.precedenceBeforeCells.contains(c) {
                dPrecedence[c, default: 0] += (1 - r.writeSum) * gp
                dSum -= gp * r.precedenceBefore(c)
            }
            if let j = r.writeSlot(c) { dWrite[j] += gp }
        }
        for j in r.writeCells.indices { dWrite[j] += dSum }
        // Links of the written rows: L_t(u, n) = (1 − w) L_{t−1}(u, n) + w p_{t−1}(n) where kept.
        for (j, u) in r.writeCells.enumerated() {
            let wu = r.writeWeights[j]
            for e in r.linkStart[j]..<r.linkStart[j + 1] where r.linkKept[e] {
                let key = LinkKey(row: u, target: r.linkCells[e])
                guard let gl = linkGradient.removeValue(forKey: key) else { continue }
                let p = r.precedenceBefore(key.target), old = r.linkOld[e]
                dWrite[j] += gl * (p - old)
                if p != 0 { dPrecedence[key.target, default: 0] += wu * gl }
                if old != 0 { linkGradient[key] = (1 - wu) * gl }
            }
        }
        return dPrecedence
    }

    /// Reverts one sample's step (previous read, step, LRU accesses, links, precedence, rows and,
    /// unless `index` is false, index entries), in reverse order of the forward.
    private func undo(_ m: SparseSampleMemory<T>, record r: TemporalSampleRecord<T>, index: Bool = true) {
        let w = cellWidth, links = m.links!
        for p in 0..<readSlots {
            m.previousReadPositions[p] = r.previousPositions[p]
            m.previousReadWeights[p] = r.previousWeights[p]
        }
        m.step = r.oldStep
        r.moves.withUnsafeBufferPointer { SparseUsage.undo(m, log: $0.baseAddress!, count: $0.count / SparseUsage.logWidth) }
        links.setPrecedence(cells: r.precedenceBeforeCells, values: r.precedenceBeforeValues)
        links.undo(r.journal)
        for j in stride(from: r.writeCells.count - 1, through: 0, by: -1) {
            let c = r.writeCells[j], row = m.memory + c * w
            r.oldRows.withUnsafeBufferPointer { old in
                r.newRows.withUnsafeBufferPointer { new in
                    LeastRecentlyAccessedWrite.undoRow(row, cell: c, oldRow: old.baseAddress! + j * w, newRow: new.baseAddress! + j * w,
                                                       width: w, step: m.step + 1)
                }
            }
            if index { m.index.undoInsert(id: c, previous: r.wasFresh[j] ? nil : UnsafePointer(row)) }
            m.rowsRestored += 1
        }
    }

    public func rollBack(tape: SparseMemoryTape<T>) {
        precondition(tape.steps == 0 || tape.owner === self, "this tape was recorded by another memory")
        guard let state = tape.state, tape.steps > 0 else { return }
        for t in stride(from: tape.steps - 1, through: 0, by: -1) {
            let record = tape.temporalRecord(t)
            for b in 0..<tape.batch {
                let r = record.samples[b]
                guard r.active else { continue }
                let m = state.samples[b]
                precondition(m.step == r.oldStep + 1, "sample \(b) is at step \(m.step), not at the end of logged step \(t)")
                undo(m, record: r)
                if r.rebuilt { tape.restoreIndex(m, step: t, sample: b) }
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func restoreFinalState(tape: SparseMemoryTape<T>) {
        guard let state = tape.state, tape.steps > 0 else { return }
        let w = cellWidth
        for t in 0..<tape.steps {
            let record = tape.temporalRecord(t)
            for b in 0..<tape.batch {
                let r = record.samples[b]
                guard r.active else { continue }
                let m = state.samples[b], links = m.links!
                precondition(m.step == r.oldStep, "sample \(b) is not at the start of logged step \(t)")
                let indexCurrent = m.indexHoldsRedoneStep()
                if !indexCurrent && r.rebuilt { m.index.rebuild() }
                for (j, c) in r.writeCells.enumerated() {
                    let row = m.memory + c * w
                    r.newRows.withUnsafeBufferPointer { row.update(from: $0.baseAddress! + j * w, count: w) }
                    if !indexCurrent { m.index.insert(id: c, vector: row) }
                    m.rowsWritten += 1
                }
                links.redo(r.journal)
                links.setPrecedence(cells: r.precedenceAfterCells, values: r.precedenceAfterValues)
                r.moves.withUnsafeBufferPointer { SparseUsage.redo(m, log: $0.baseAddress!, count: $0.count / SparseUsage.logWidth, time: r.oldStep + 1) }
                for p in 0..<readSlots {
                    m.previousReadPositions[p] = r.positions[p]
                    m.previousReadWeights[p] = r.weights[p]
                }
                m.step = r.oldStep + 1
            }
        }
    }

    // MARK: Debug

    /// Debug record of the most recent step for one batch element; shapes as
    /// `SparseMemoryDebugRecord` with K replaced by the slots per head K + 2K_L, plus the
    /// SDNC's read modes, links among the visible cells and precedence.
    public func lastStepDebugRecord(batchElement b: Int, memoryWindow: Int) -> SparseMemoryDebugRecord<T> {
        guard let tape = lastTape, tape.owner === self, lastStepIndex < tape.steps, let state = tape.state else {
            preconditionFailure("no step recorded yet (or its tape was reset)")
        }
        precondition(b >= 0 && b < tape.batch, "batch element \(b) out of range 0..<\(tape.batch)")
        let r = tape.temporalRecord(lastStepIndex).samples[b], m = state.samples[b], links = m.links!
        let w = cellWidth, ch = slotsPerHead, c = readSlots, kl = temporalReads
        let count = r.active ? r.writeCells.count : 0
        var visible = Tensor<T>(shape: [c, w]), usage = Tensor<T>(shape: [readHeads, ch])
        var positions = Tensor<T>(shape: [readHeads, ch], repeating: -1), weights = Tensor<T>(shape: [readHeads, ch])
        var modes = Tensor<T>(shape: [readHeads, 3])
        var forward = Tensor<T>(shape: [c, c]), backward = Tensor<T>(shape: [c, c])
        var precedence = Tensor<T>(shape: [1, kl]), precedencePositions = Tensor<T>(shape: [1, kl], repeating: -1)
        if r.active {
            let xi = tape.temporalRecord(lastStepIndex).interface
            for i in 0..<readHeads { for e in 0..<3 { modes[flat: 3 * i + e] = xi[b * layout.size + layout.readModes + 3 * i + e] } }
            for p in 0..<c {
                let cell = r.positions[p]
                positions[flat: p] = T(cell)
                weights[flat: p] = r.weights[p]
                guard cell >= 0 else { continue }
                for e in 0..<w { visible[flat: p * w + e] = m.memory[cell * w + e] }
                usage[flat: p] = T(m.lastAccessTime(cell))
                for q in 0..<c where r.positions[q] >= 0 {
                    forward[flat: p * c + q] = links.value(row: cell, target: r.positions[q])
                    backward[flat: q * c + p] = forward[flat: p * c + q]
                }
            }
            for (e, cell) in r.precedenceAfterCells.enumerated() {
                precedence[flat: e] = r.precedenceAfterValues[e]
                precedencePositions[flat: e] = T(cell)
            }
        }
        var record = SparseMemoryDebugRecord(
            memory: memoryWindow > 0 ? m.window(memoryWindow) : Tensor(shape: [count, w], storage: Array(r.newRows.prefix(count * w))),
            writePositions: Tensor(shape: [1, count], storage: r.writeCells.prefix(count).map { T($0) }),
            writeWeights: Tensor(shape: [1, count], storage: Array(r.writeWeights.prefix(count))),
            visibleMemory: visible, readPositions: positions, readWeights: weights, usage: usage,
            leastUsedMemory: Tensor(shape: [1, 1], storage: [T(m.leastRecentlyAccessed)]))
        record.readModes = modes
        record.linkMatrix = forward
        record.reverseLinkMatrix = backward
        record.precedence = precedence
        record.precedencePositions = precedencePositions
        return record
    }
}

import DNCNumerics
import DNCLayers

/// The dense DNC memory (docs/dense-memory.md; Graves et al. 2016, Methods): the interface layer that turns the controller
/// output into the interface vector, and one write-then-read memory step, each with its
/// hand-written backward.
///
/// Sizes: B batch, I = `inputSize`, N = `cellCount`, W = `cellWidth`, R = `readHeads`,
/// S = `interfaceSize`. The mechanisms live in their own files (`InterfaceLayout`,
/// `ContentAddressing`, `Allocation`, `WriteHead`, `TemporalLinkage`, `ReadHeads`); this class
/// orchestrates them per sample, in the exact order of docs/dense-memory.md, "One memory step", and records on a `DenseMemoryTape`
/// what the backward needs (layout: `DenseRecordLayout`).
///
/// One memory may step several times per time step (a memory shared by several DNC layers);
/// the tape records the steps in order and `backwardStep` replays them in reverse.
/// Not reentrant: the instance owns the scratch buffers, so run one step (or backward step) at
/// a time per instance. Once the tape and the scratch are warm, neither `step` nor
/// `backwardStep` allocates.
public final class DenseMemory<T: Real>: @unchecked Sendable {
    public let inputSize: Int, cellCount: Int, cellWidth: Int, readHeads: Int
    public let independentLinears: Bool
    public let options: MemoryOptions
    /// Holds the interface parameters (and accumulates their gradients).
    public let store: ParameterStore<T>
    let layout: InterfaceLayout
    /// The interface layer(s): one (S, in) block, or one per field (pytorch-dnc's `independent_linears`).
    let interface: InterfaceProjection<T>

    /// Reals for the forward step: û of the allocation (N), then the masked lookup's (see `prepareStepScratch`).
    private(set) var scratch: UnsafeMutablePointer<T>
    private var scratchCapacity = 0
    private var integerScratch: UnsafeMutablePointer<Int>
    private var integerScratchCapacity = 0
    /// Per sample the free-list order of its last step, where the next sort starts (B×N).
    private var orderHints: UnsafeMutablePointer<Int>
    private var orderHintsCount = 0
    /// Records a step taken without a tape (inference), so the debug record always works.
    private let inferenceTape = DenseMemoryTape<T>()
    private var lastTape: DenseMemoryTape<T>?
    private var lastStepIndex = -1
    /// The links between the tape's snapshots, recomputed for the backward and the debug record.
    private let linkCache = DenseLinkCache<T>()
    /// Steps between the tape's link snapshots (`DenseMemoryTape.linkInterval(cells:)`; tests
    /// set it to recompute links at small sizes too). Takes effect on a tape's first record.
    var linkSnapshotInterval: Int
    /// Stands in for a state's tensors while `withPointers` holds them (see there).
    private let placeholder = Tensor<T>(shape: [0])

    /// S = R·W + 3W + 5R + 3, plus (R + 1)·W with masked lookup and 2R with link sharpness.
    public var interfaceSize: Int { layout.size }
    /// The interface weights' copies (transposed for the forward, stacked as they are for the
    /// input gradient); the model activates them around each forward and backward pass.
    public var interfaceWeightCopies: [WeightCopies<T>] { interface.weightCopies }

    public init(store: ParameterStore<T>, prefix: String, inputSize: Int, cellCount: Int, cellWidth: Int,
                readHeads: Int, independentLinears: Bool = false, options: MemoryOptions = .paper) {
        precondition(inputSize >= 1 && cellCount >= 1 && cellWidth >= 1 && readHeads >= 1,
                     "memory sizes must be positive: in \(inputSize), N \(cellCount), W \(cellWidth), R \(readHeads)")
        self.inputSize = inputSize
        self.cellCount = cellCount
        self.cellWidth = cellWidth
        self.readHeads = readHeads
        self.independentLinears = independentLinears
        self.options = options
        self.store = store
        layout = InterfaceLayout(cellWidth: cellWidth, readHeads: readHeads, improvements: options.improvements)
        linkSnapshotInterval = DenseMemoryTape<T>.linkInterval(cells: cellCount)
        interface = InterfaceProjection(store: store, prefix: prefix, inputSize: inputSize, size: layout.size,
                                        independent: independentLinears,
                                        blocks: zip(layout.fieldNames, layout.fieldBlocks).map { ($0, $1.offset, $1.length) })
        scratch = .allocate(capacity: 1)
        integerScratch = .allocate(capacity: 1)
        orderHints = .allocate(capacity: 1)
    }

    deinit {
        scratch.deallocate()
        integerScratch.deallocate()
        orderHints.deallocate()
    }

    /// pytorch-dnc's initialisation (docs/dense-memory.md, "Initialisation"): weights Kaiming-uniform U(±√(6/in)), biases U(±1/√in).
    public func initializeDefault(random: CounterRandom, stream: UInt64) {
        interface.initializeDefault(store: store, random: random, stream: stream)
    }

    /// The all-zero initial state for `batch` samples: M (B, N, W), L (B, N, N),
    /// p (B, N), w^r (B, R, N), w^w (B, N), u (B, N).
    public func zeroState(batch: Int) -> DenseMemoryState<T> {
        .zeros(batch: batch, cells: cellCount, width: cellWidth, readHeads: readHeads)
    }

    // MARK: Scratch

    func recordLayout(batch: Int) -> DenseRecordLayout {
        DenseRecordLayout(batch: batch, inputSize: inputSize, interfaceSize: layout.size, cells: cellCount,
                          width: cellWidth, readHeads: readHeads, keepsRawDirectional: options.improvements.linkSharpness)
    }

    /// Per-sample scratch of the backward (reals), see `backwardStep`.
    private var sampleScratchSize: Int {
        let n = cellCount, w = cellWidth, r = readHeads
        return 4 * r * n + (r * n + n + r) + 5 * n + w + Allocation.usageBackwardScratchSize(cells: n, readHeads: r)
            + TemporalLinkage.stepBackwardScratchSize(cells: n, readHeads: r) + BackwardScratch.improvementsSize(self)
    }

    private func realScratch(_ count: Int) -> UnsafeMutablePointer<T> {
        if count > scratchCapacity {
            scratch.deallocate()
            scratch = .allocate(capacity: count)
            scratchCapacity = count
        }
        return scratch
    }

    // MARK: Step

    /// Where one recorded step lives on its tape: its record (reals and integers), the previous
    /// record (which holds the state before the step) and the record's layout.
    struct StepFrame {
        let rec: UnsafeMutablePointer<T>
        let ints: UnsafeMutablePointer<Int>
        let previous: UnsafeMutablePointer<T>
        let layout: DenseRecordLayout
    }

    /// One write-then-read step. `input` (B×inputSize) is the controller output; it goes through the interface
    /// layer(s) and activations (docs/dense-memory.md, "Interface vector", with the options) and one memory step
    /// ("One memory step"). Writes the read vectors (B×R×W, head-major) to `readVectors` and advances `state`. With a
    /// tape, records the step for backwardStep; without, uses an internal one-step scratch (so
    /// `lastStepDebugRecord` always works).
    /// `active` (B flags, optional): an inactive sample is skipped entirely: its state rows stay unchanged and its
    /// read vectors are 0 (variable-length batches). `allocationOrder` (optional, per sample a permutation of 0..<N):
    /// use it as the free-list order φ instead of sorting (tests and fixture parity with PyTorch's tie order).
    /// The default order is a stable ascending sort of û, ties to the lower index.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(input: UnsafePointer<T>, batch: Int, state: inout DenseMemoryState<T>, tape: DenseMemoryTape<T>?,
                     active: [Bool]? = nil, allocationOrder: [[Int]]? = nil, readVectors: UnsafeMutablePointer<T>) {
        let n = cellCount, w = cellWidth, r = readHeads, s = layout.size
        precondition(state.hasShape(batch: batch, cells: n, width: w, readHeads: r),
                     "memory state has shape \(state.memory.shape), expected batch \(batch), N \(n), W \(w), R \(r)")
        precondition(active == nil || active!.count == batch, "need one active flag per sample")
        precondition(allocationOrder == nil || allocationOrder!.count == batch, "need one allocation order per sample")
        guard batch > 0 else { return }
        let l = recordLayout(batch: batch)
        let recording = tape ?? inferenceTape
        if tape == nil { inferenceTape.reset() }
        let (rec, ints) = recording.appendRecord(owner: self, batch: batch, recordSize: l.size,
                                                 integerRecordSize: l.integerSize, linkSnapshotSize: batch * n * n,
                                                 linkInterval: linkSnapshotInterval)
        lastTape = recording
        lastStepIndex = recording.steps - 1
        prepareStepScratch(batch: batch)
        let frame = StepFrame(rec: rec, ints: ints, previous: recording.previousRecord(lastStepIndex), layout: l)
        recordInput(input, batch: batch, active: active, frame: frame)

        state.withPointers(placeholder: placeholder) { sp in
            recordPreviousState(sp, batch: batch, stepIndex: lastStepIndex, tape: recording, frame: frame)
            for b in 0..<batch {
                let out = readVectors + b * r * w
                if ints[l.activeFlags + b] != 0 {
                    layout.activate(raw: rec + l.raw + b * s, out: rec + l.interface + b * s, options: options)
                    sampleForward(b, frame: frame, state: sp, allocationOrder: allocationOrder?[b], readVectors: out)
                } else {
                    keepInactiveSample(b, frame: frame, readVectors: out)
                }
            }
            // M_t, w^r_t, w^w_t and u_t from the tape into the state (L_t and p_t were updated in place).
            sp.memory.update(from: rec + l.memory, count: batch * n * w)
            sp.readWeights.update(from: rec + l.readWeights, count: batch * r * n)
            sp.writeWeights.update(from: rec + l.writeWeights, count: batch * n)
            sp.usage.update(from: rec + l.usage, count: batch * n)
        }
    }

    /// Grows the sort's scratch and the per-sample free-list order hints to this batch.
    private func prepareStepScratch(batch: Int) {
        let n = cellCount
        if integerScratchCapacity < n {
            integerScratch.deallocate()
            integerScratch = .allocate(capacity: n)
            integerScratchCapacity = n
        }
        // û for the allocation (N), then the masked lookup's M̃, norms and k̃.
        let masking = options.improvements.maskedContentLookup
            ? MaskedContentAddressing.forwardScratchSize(cells: n, width: cellWidth) : 0
        _ = realScratch(Swift.max(n, 1) + masking)
        if orderHintsCount != batch * n {
            orderHints.deallocate()
            orderHints = .allocate(capacity: Swift.max(batch * n, 1))
            for b in 0..<batch { for i in 0..<n { orderHints[b * n + i] = i } }
            orderHintsCount = batch * n
        }
    }

    /// Records the input and the active flags, and the raw interface vectors ẑ = interface(input).
    private func recordInput(_ input: UnsafePointer<T>, batch: Int, active: [Bool]?, frame: StepFrame) {
        let l = frame.layout, x = frame.rec + l.input
        x.update(from: input, count: batch * inputSize)
        for b in 0..<batch {
            let isActive = active?[b] ?? true
            frame.ints[l.activeFlags + b] = isActive ? 1 : 0
            // Zeroed so that an inactive sample's input (possibly garbage) never reaches a gradient.
            if !isActive { Kernels.fill(x + b * inputSize, count: inputSize, with: 0) }
        }
        interface.forward(store: store, input: x, batch: batch, raw: frame.rec + l.raw)
    }

    /// M_{t−1}, w^r_{t−1}, w^w_{t−1} and u_{t−1} are the previous record's (the state before the
    /// sequence goes into the record before the first); p_{t−1} goes onto this record, and
    /// L_{t−1} into the tape's link snapshot every `linkInterval` steps. Also the norms of
    /// M_{t−1}'s rows for the write content weighting, all samples at once.
    private func recordPreviousState(_ sp: DenseStatePointers<T>, batch: Int, stepIndex: Int, tape: DenseMemoryTape<T>,
                                     frame: StepFrame) {
        let n = cellCount, w = cellWidth, r = readHeads, l = frame.layout, previous = frame.previous
        if stepIndex == 0 {
            (previous + l.memory).update(from: sp.memory, count: batch * n * w)
            (previous + l.readWeights).update(from: sp.readWeights, count: batch * r * n)
            (previous + l.writeWeights).update(from: sp.writeWeights, count: batch * n)
            (previous + l.usage).update(from: sp.usage, count: batch * n)
        } else {
            // A cheap guard on the contract that the steps on one tape follow each other.
            for i in 0..<(batch * n) where !(sp.usage[i] == previous[l.usage + i]) && !sp.usage[i].isNaN {
                preconditionFailure("the state passed to step \(stepIndex) on this tape is not the one step \(stepIndex - 1) left; reset the tape to start a new sequence")
            }
        }
        (frame.rec + l.previousPrecedence).update(from: sp.precedence, count: batch * n)
        if stepIndex % tape.linkInterval == 0 {
            tape.linkSnapshot(stepIndex / tape.linkInterval).update(from: sp.link, count: batch * n * n)
        }
        // (Masked lookup normalises the masked rows instead, per head.)
        if !options.improvements.maskedContentLookup {
            ContentAddressing.norms(previous + l.memory, rows: batch * n, width: w, style: options.cosineStyle,
                                    out: frame.rec + l.writeNorms)
        }
    }

    /// An inactive sample's state stays: its copy in this record is the next step's previous
    /// state, and it reads zeros.
    private func keepInactiveSample(_ b: Int, frame: StepFrame, readVectors out: UnsafeMutablePointer<T>) {
        let n = cellCount, w = cellWidth, r = readHeads, l = frame.layout, rec = frame.rec, previous = frame.previous
        (rec + l.memory + b * n * w).update(from: previous + l.memory + b * n * w, count: n * w)
        (rec + l.readWeights + b * r * n).update(from: previous + l.readWeights + b * r * n, count: r * n)
        (rec + l.writeWeights + b * n).update(from: previous + l.writeWeights + b * n, count: n)
        (rec + l.usage + b * n).update(from: previous + l.usage + b * n, count: n)
        Kernels.fill(out, count: r * w, with: 0)
    }

    /// Sample b's step, in the order of docs/dense-memory.md, "One memory step": usage, write content
    /// weighting, allocation, write weights, erase and add, links and directional weightings,
    /// precedence, read content weighting, read weights and read vectors.
    private func sampleForward(_ b: Int, frame: StepFrame, state sp: DenseStatePointers<T>, allocationOrder: [Int]?,
                               readVectors out: UnsafeMutablePointer<T>) {
        let n = cellCount, w = cellWidth, r = readHeads, s = layout.size
        let l = frame.layout, rec = frame.rec, previous = frame.previous
        let mPrev = previous + l.memory + b * n * w
        let wrPrev = previous + l.readWeights + b * r * n
        let wwPrev = previous + l.writeWeights + b * n, uPrev = previous + l.usage + b * n
        let xi = rec + l.interface + b * s
        // Usage.
        let uNew = rec + l.usage + b * n
        Allocation.usageForward(usage: uPrev, writeWeights: wwPrev, readWeights: wrPrev,
                                freeGates: xi + layout.freeGates, cells: n, readHeads: r,
                                retention: rec + l.retention + b * n, newUsage: uNew)
        // Write content weighting on M_{t−1}.
        let writeContent = rec + l.writeContent + b * n
        writeContentForward(b, frame: frame, memory: mPrev)
        // Allocation.
        let allocation = rec + l.allocation + b * n
        Allocation.allocationForward(usage: uNew, cells: n, givenOrder: allocationOrder,
                                     orderHint: orderHints + b * n,
                                     order: frame.ints + b * n, sorted: rec + l.sortedUsage + b * n,
                                     prefix: rec + l.prefix + b * n, allocation: allocation,
                                     integerScratch: integerScratch, scratch: scratch)
        (orderHints + b * n).update(from: frame.ints + b * n, count: n)
        // Write weights.
        let wwNew = rec + l.writeWeights + b * n
        WriteHead.weightsForward(allocation: allocation, content: writeContent,
                                 allocationGate: xi[layout.allocationGate], writeGate: xi[layout.writeGate],
                                 cells: n, out: wwNew)
        // Erase and add, from the tape's M_{t−1} into its M_t (the state takes it after the batch).
        // With DNC-MD's de-allocation, from ψ ⊙ M_{t−1} instead (built in M_t's place, then updated there).
        let mNew = rec + l.memory + b * n * w
        if options.improvements.deallocation {
            Deallocation.forward(memory: mPrev, retention: rec + l.retention + b * n, cells: n, width: w, out: mNew)
        }
        WriteHead.eraseAndAdd(previous: options.improvements.deallocation ? mNew : mPrev, memory: mNew,
                              writeWeights: wwNew, erase: xi + layout.eraseVector,
                              write: xi + layout.writeVector, cells: n, width: w)
        // Link (with the old precedence); directional weightings from L_t and w^r_{t−1}; then precedence.
        // With DNC-MD's sharpness the products go to the raw sections and f, b are their sharpened forms.
        let forward = rec + l.forward + b * r * n, backward = rec + l.backward + b * r * n
        let sharpened = layout.sharpened
        TemporalLinkage.stepForward(link: sp.link + b * n * n, previous: nil, writeWeights: wwNew,
                                    precedence: sp.precedence + b * n, readWeights: wrPrev, cells: n, readHeads: r,
                                    forward: sharpened ? rec + l.rawForward + b * r * n : forward,
                                    backward: sharpened ? rec + l.rawBackward + b * r * n : backward)
        if sharpened { sharpenForward(b, frame: frame) }
        TemporalLinkage.precedenceForward(precedence: sp.precedence + b * n, writeWeights: wwNew, cells: n)
        // Read content weighting on M_t.
        let readContent = rec + l.readContent + b * r * n
        readContentForward(b, frame: frame, memory: mNew)
        // Read weights and read vectors.
        let wrNew = rec + l.readWeights + b * r * n
        ReadHeads.weightsForward(modes: xi + layout.readModes, backward: backward, forward: forward,
                                 content: readContent, cells: n, readHeads: r, out: wrNew)
        ReadHeads.readVectors(weights: wrNew, memory: mNew, cells: n, width: w, readHeads: r, out: out)
    }

    // MARK: Backward

    /// The backward's per-sample scratch (reals), carved from one buffer.
    struct BackwardScratch {
        let dwrNew, dForward, dBackward, dReadContent, contentScratch: UnsafeMutablePointer<T>
        let dwwNew, dpNew, duNew, dWriteContent, dAllocation: UnsafeMutablePointer<T>
        let usageScratch, rowScratch, linkScratch: UnsafeMutablePointer<T>
        /// DNC-MD: the masked lookup's backward scratch; ψ ⊙ M_{t−1} (N×W) and dℓ/dψ (N) of the de-allocation.
        let maskScratch, scaledMemory, dRetention: UnsafeMutablePointer<T>

        /// The options' part of the scratch (0 with none on).
        static func improvementsSize(_ memory: DenseMemory) -> Int {
            let n = memory.cellCount, w = memory.cellWidth, o = memory.options.improvements
            return (o.maskedContentLookup ? MaskedContentAddressing.backwardScratchSize(cells: n, width: w) : 0)
                + (o.deallocation ? n * w + n : 0)
        }

        init(_ base: UnsafeMutablePointer<T>, memory: DenseMemory) {
            let n = memory.cellCount, w = memory.cellWidth, r = memory.readHeads, o = memory.options.improvements
            var cursor = base
            func take(_ count: Int) -> UnsafeMutablePointer<T> { defer { cursor += count }; return cursor }
            dwrNew = take(r * n); dForward = take(r * n); dBackward = take(r * n); dReadContent = take(r * n)
            contentScratch = take(r * n + n + r)
            dwwNew = take(n); dpNew = take(n); duNew = take(n); dWriteContent = take(n); dAllocation = take(n)
            usageScratch = take(Allocation.usageBackwardScratchSize(cells: n, readHeads: r)); rowScratch = take(w)
            linkScratch = take(TemporalLinkage.stepBackwardScratchSize(cells: n, readHeads: r))
            maskScratch = take(o.maskedContentLookup ? MaskedContentAddressing.backwardScratchSize(cells: n, width: w) : 0)
            scaledMemory = take(o.deallocation ? n * w : 0); dRetention = take(o.deallocation ? n : 0)
        }
    }

    /// Backward of recorded step `stepIndex` (steps must be replayed in reverse order of recording).
    /// `readVectorsGradient` (B×R×W); `stateGradient` holds d loss/d (state after the step) and is replaced by
    /// d loss/d (state before it). `inputGradient` (B×inputSize) is overwritten. Parameter gradients accumulate
    /// into the store. Inactive samples: state gradient passes through unchanged, input gradient 0.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backwardStep(tape: DenseMemoryTape<T>, stepIndex: Int, readVectorsGradient: UnsafePointer<T>,
                             stateGradient: inout DenseMemoryState<T>, inputGradient: UnsafeMutablePointer<T>) {
        precondition(tape.owner === self, "this tape was recorded by another memory")
        let batch = tape.batch
        let n = cellCount, w = cellWidth, r = readHeads, s = layout.size
        precondition(stateGradient.hasShape(batch: batch, cells: n, width: w, readHeads: r),
                     "state gradient has shape \(stateGradient.memory.shape), expected batch \(batch), N \(n), W \(w), R \(r)")
        let l = recordLayout(batch: batch)
        let (rec, ints) = tape.record(stepIndex)
        let frame = StepFrame(rec: rec, ints: ints, previous: tape.previousRecord(stepIndex), layout: l)
        let links = linkCache.linksBefore(step: stepIndex, tape: tape, layout: l, cells: n)
        let work = realScratch(batch * s + sampleScratchSize)
        // dℓ/dξ (then dℓ/dẑ), B×S; inactive rows stay 0.
        let dxi = work
        Kernels.fill(dxi, count: batch * s, with: 0)
        let sampleScratch = BackwardScratch(work + batch * s, memory: self)
        stateGradient.withPointers(placeholder: placeholder) { g in
            for b in 0..<batch where ints[l.activeFlags + b] != 0 {
                sampleBackward(b, frame: frame, previousLinks: links + b * n * n, stateGradient: g,
                               readVectorsGradient: readVectorsGradient + b * r * w, interfaceGradient: dxi + b * s,
                               scratch: sampleScratch)
                // Activations: dℓ/dξ → dℓ/dẑ.
                layout.activationBackward(raw: rec + l.raw + b * s, activated: rec + l.interface + b * s, gradient: dxi + b * s,
                                          options: options)
            }
        }
        interface.backward(store: store, input: rec + l.input, rawGradient: dxi, batch: batch, inputGradient: inputGradient)
    }

    /// Sample b's backward through one step, the forward's mechanisms in reverse order
    /// (docs/dense-memory.md, "Backward pass"). `stateGradient`'s rows of sample b hold dℓ/d (state
    /// after the step) and become dℓ/d (state before it); `interfaceGradient` (S) receives dℓ/dξ.
    private func sampleBackward(_ b: Int, frame: StepFrame, previousLinks lPrev: UnsafePointer<T>,
                                stateGradient g: DenseStatePointers<T>, readVectorsGradient: UnsafePointer<T>,
                                interfaceGradient dRow: UnsafeMutablePointer<T>, scratch k: BackwardScratch) {
        let n = cellCount, w = cellWidth, r = readHeads, s = layout.size
        let l = frame.layout, rec = frame.rec, previous = frame.previous
        let mPrev = previous + l.memory + b * n * w
        let pPrev = rec + l.previousPrecedence + b * n, wrPrev = previous + l.readWeights + b * r * n
        let wwPrev = previous + l.writeWeights + b * n, uPrev = previous + l.usage + b * n
        let xi = rec + l.interface + b * s
        let mNew = rec + l.memory + b * n * w, wwNew = rec + l.writeWeights + b * n
        let readContent = rec + l.readContent + b * r * n, writeContent = rec + l.writeContent + b * n
        let gM = g.memory + b * n * w, gL = g.link + b * n * n, gP = g.precedence + b * n
        let gR = g.readWeights + b * r * n, gW = g.writeWeights + b * n, gU = g.usage + b * n
        // Take the gradients of the state after the step; the rows then collect the gradients of
        // the state before it. gM and gL are transformed in place (dℓ/dM_t → dℓ/dM_{t−1},
        // dℓ/dL_t → dℓ/dL_{t−1}); gW and gU are overwritten below.
        k.dpNew.update(from: gP, count: n)
        k.dwrNew.update(from: gR, count: r * n)
        k.dwwNew.update(from: gW, count: n)
        k.duNew.update(from: gU, count: n)
        Kernels.fill(gP, count: n, with: 0)
        Kernels.fill(gR, count: r * n, with: 0)
        // Read vectors and read weights.
        ReadHeads.readVectorsBackward(weights: rec + l.readWeights + b * r * n, memory: mNew, cells: n, width: w,
                                      readHeads: r, readVectorsGradient: readVectorsGradient,
                                      weightsGradient: k.dwrNew, memoryGradient: gM)
        ReadHeads.weightsBackward(modes: xi + layout.readModes, backward: rec + l.backward + b * r * n,
                                  forward: rec + l.forward + b * r * n, content: readContent, cells: n,
                                  readHeads: r, weightsGradient: k.dwrNew, modesGradient: dRow + layout.readModes,
                                  backwardGradient: k.dBackward, forwardGradient: k.dForward, contentGradient: k.dReadContent)
        // DNC-MD's sharpness: dℓ/d(sharpened f, b) → dℓ/d(L w^r, Lᵀ w^r), and the sharpness' gradients.
        if layout.sharpened { sharpenBackward(b, frame: frame, interfaceGradient: dRow, scratch: k) }
        // Precedence, then the directional weightings and the link (L_t recomputed).
        TemporalLinkage.precedenceBackward(previousPrecedence: pPrev, writeWeights: wwNew, cells: n,
                                           precedenceGradient: k.dpNew, previousPrecedenceGradient: gP,
                                           writeWeightsGradient: k.dwwNew)
        TemporalLinkage.stepBackward(previousLink: lPrev, writeWeights: wwNew, precedence: pPrev,
                                     readWeights: wrPrev, cells: n, readHeads: r,
                                     forwardGradient: k.dForward, backwardGradient: k.dBackward,
                                     linkGradient: gL, readWeightsGradient: gR,
                                     writeWeightsGradient: k.dwwNew, precedenceGradient: gP, scratch: k.linkScratch)
        // Read content weighting.
        readContentBackward(b, frame: frame, memory: mNew, memoryGradient: gM, interfaceGradient: dRow, scratch: k)
        // Erase and add (turns gM into dℓ/dM_{t−1} through this path); with de-allocation the
        // update started from ψ ⊙ M_{t−1} (rebuilt here), whose backward then gives dℓ/dM_{t−1} and dℓ/dψ.
        let deallocating = options.improvements.deallocation
        let retention = rec + l.retention + b * n
        if deallocating {
            Deallocation.forward(memory: mPrev, retention: retention, cells: n, width: w, out: k.scaledMemory)
        }
        WriteHead.eraseAndAddBackward(previousMemory: deallocating ? k.scaledMemory : mPrev, writeWeights: wwNew,
                                      erase: xi + layout.eraseVector,
                                      write: xi + layout.writeVector, cells: n, width: w,
                                      memoryGradient: gM, previousMemoryGradient: gM,
                                      writeWeightsGradient: k.dwwNew, eraseGradient: dRow + layout.eraseVector,
                                      writeVectorGradient: dRow + layout.writeVector, scratch: k.rowScratch)
        if deallocating {
            Deallocation.backward(memory: mPrev, retention: retention, cells: n, width: w, gradient: gM,
                                  retentionGradient: k.dRetention)
        }
        // Write weights.
        let gates = WriteHead.weightsBackward(allocation: rec + l.allocation + b * n, content: writeContent,
                                              allocationGate: xi[layout.allocationGate],
                                              writeGate: xi[layout.writeGate], cells: n,
                                              weightsGradient: k.dwwNew, allocationGradient: k.dAllocation,
                                              contentGradient: k.dWriteContent)
        dRow[layout.allocationGate] += gates.allocationGate
        dRow[layout.writeGate] += gates.writeGate
        // Write content weighting on M_{t−1}.
        writeContentBackward(b, frame: frame, memory: mPrev, memoryGradient: gM, interfaceGradient: dRow, scratch: k)
        // Allocation through the sort, into dℓ/du_t.
        Allocation.allocationBackward(order: frame.ints + b * n, sorted: rec + l.sortedUsage + b * n,
                                      prefix: rec + l.prefix + b * n, allocationGradient: k.dAllocation,
                                      cells: n, usageGradient: k.duNew)
        // Usage (overwrites gU and gW).
        Allocation.usageBackward(usage: uPrev, writeWeights: wwPrev, readWeights: wrPrev,
                                 freeGates: xi + layout.freeGates, retention: retention,
                                 newUsageGradient: k.duNew, cells: n, readHeads: r,
                                 stopGradient: options.stopGradientThroughUsage,
                                 retentionGradient: deallocating ? UnsafePointer(k.dRetention) : nil,
                                 usageGradient: gU, writeWeightsGradient: gW, readWeightsGradient: gR,
                                 freeGatesGradient: dRow + layout.freeGates, scratch: k.usageScratch)
    }

    // MARK: Debug

    /// Debug record of the most recent step (in whichever tape it was recorded) for one batch element.
    /// For an inactive sample it shows the unchanged state and zero allocation, modes and gates.
    public func lastStepDebugRecord(batchElement b: Int) -> MemoryDebugRecord<T> {
        guard let tape = lastTape, tape.owner === self, lastStepIndex < tape.steps else {
            preconditionFailure("no step recorded yet (or its tape was reset)")
        }
        precondition(b >= 0 && b < tape.batch, "batch element \(b) out of range 0..<\(tape.batch)")
        let n = cellCount, w = cellWidth, r = readHeads, s = layout.size
        let l = recordLayout(batch: tape.batch)
        let (rec, ints) = tape.record(lastStepIndex)
        let previous = tape.previousRecord(lastStepIndex)
        func tensor(_ pointer: UnsafePointer<T>, _ shape: [Int]) -> Tensor<T> {
            Tensor(shape: shape, storage: Array(UnsafeBufferPointer(start: pointer, count: shape.reduce(1, *))))
        }
        let mPrev = previous + l.memory + b * n * w
        let lPrev = linkCache.linksBefore(step: lastStepIndex, tape: tape, layout: l, cells: n) + b * n * n
        let pPrev = rec + l.previousPrecedence + b * n
        guard ints[l.activeFlags + b] != 0 else {
            return MemoryDebugRecord(memory: tensor(mPrev, [n, w]), linkMatrix: tensor(lPrev, [n, n]),
                                     precedence: tensor(pPrev, [1, n]),
                                     readWeights: tensor(previous + l.readWeights + b * r * n, [r, n]),
                                     writeWeights: tensor(previous + l.writeWeights + b * n, [1, n]),
                                     usageVector: tensor(previous + l.usage + b * n, [1, n]),
                                     allocationWeights: Tensor(shape: [1, n]), readModes: Tensor(shape: [r, 3]),
                                     writeGate: Tensor(shape: [1, 1]), freeGates: Tensor(shape: [1, r]))
        }
        let wwNew = rec + l.writeWeights + b * n, xi = rec + l.interface + b * s
        var link = Tensor<T>(shape: [n, n]), precedence = tensor(pPrev, [1, n])
        link.withUnsafeMutableBufferPointer {
            TemporalLinkage.link(previous: lPrev, writeWeights: wwNew, precedence: pPrev, cells: n, out: $0.baseAddress!)
        }
        precedence.withUnsafeMutableBufferPointer {
            TemporalLinkage.precedenceForward(precedence: $0.baseAddress!, writeWeights: wwNew, cells: n)
        }
        return MemoryDebugRecord(memory: tensor(rec + l.memory + b * n * w, [n, w]), linkMatrix: link,
                                 precedence: precedence, readWeights: tensor(rec + l.readWeights + b * r * n, [r, n]),
                                 writeWeights: tensor(wwNew, [1, n]), usageVector: tensor(rec + l.usage + b * n, [1, n]),
                                 allocationWeights: tensor(rec + l.allocation + b * n, [1, n]),
                                 readModes: tensor(xi + layout.readModes, [r, 3]),
                                 writeGate: tensor(xi + layout.writeGate, [1, 1]),
                                 freeGates: tensor(xi + layout.freeGates, [1, r]))
    }
}

import DNCNumerics
import DNCLayers
import DNCMemories

/// The Differentiable Neural Computer (Graves et al., 2016) as pytorch-dnc builds it: `layerCount`
/// DNC layers per time step, each a recurrent controller stack followed by a memory step (dense
/// memory, shared or per layer), and a linear output layer on the last layer's clipped
/// controller output and read vectors.
///
/// Parameter names are pytorch-dnc's `state_dict` names (api.md §5): `lstm_layer_0.weight_ih_l0`
/// …, `rnn_layer_memory_shared.interface_weights.weight` …, `output.weight`, `output.bias`.
///
/// Use: `forward` over a sequence (recording for `backward` unless told not to), then
/// `backward` with the gradient of the loss with respect to the output; parameter gradients
/// accumulate in `store.gradients`.
public final class DNC<T: Real>: @unchecked Sendable {
    public let configuration: DNCConfiguration
    public let store: ParameterStore<T>
    public let controllers: [RecurrentStack<T>]
    /// The dense memories (empty for SAM): one if shared between layers, else one per layer.
    public let memories: [DenseMemory<T>]
    /// The sparse memories (SAM or SDNC; empty for the dense DNC), likewise.
    public let sparseMemories: [any SparseMemoryModule<T>]
    /// Reused fresh sparse states: a lazy reset is O(1), a new state allocates N×W per sample.
    private var sparseStatePool: [SparseMemoryState<T>] = []
    /// Calls recorded on sparse states, oldest first, with the states they changed in place: a
    /// backward through an earlier call first undoes the later ones (see `backward`).
    private var sparseHistory: [SparseCall] = []
    private struct SparseCall {
        weak var tape: DNCTape<T>?
        let states: [ObjectIdentifier]
    }
    public let output: Linear<T>
    /// The transposed weight copies of the controllers and interfaces, refreshed at the start of
    /// every forward and backward pass (see `TransposedWeights`).
    private let transposedWeights: [TransposedWeights<T>]
    /// Dropout masks are drawn from here (training mode only).
    public var dropoutRandom: RandomSequence
    /// Seeds the compat preset's per-call random controller state.
    let random: CounterRandom
    private var initialStateDraws: UInt64 = 0

    /// Used when a call passes no tape of its own.
    public let defaultTape: DNCTape<T>
    /// Sparse memories' debug `memory`: 0 (default) records the rows each step wrote; w > 0
    /// records rows 0 ..< w of the memory after each step (pytorch-dnc's dense N×W view for a
    /// window of the memory; never the whole of a large memory unless asked).
    public var debugMemoryWindow = 0

    /// Builds the model and initialises its parameters as pytorch-dnc does (dnc.md §9), from `seed`.
    public init(_ configuration: DNCConfiguration, seed: UInt64 = 0, store: ParameterStore<T> = ParameterStore<T>()) {
        if let problem = configuration.validationError() { preconditionFailure("invalid DNC configuration: \(problem)") }
        self.configuration = configuration
        self.store = store
        let c = configuration
        let cellName: String
        switch c.cell { case .lstm: cellName = "lstm"; case .gru: cellName = "gru"; case .rnn: cellName = "rnn" }
        controllers = (0..<c.layerCount).map { layer in
            RecurrentStack(store: store, prefix: "\(cellName)_layer_\(layer).", kind: c.cell,
                           inputSize: (layer == 0 ? c.inputSize : c.hiddenSize) + c.readWidth,
                           hiddenSize: c.hiddenSize, depth: c.controllerDepth, bias: c.controllerBias, dropout: c.dropout)
        }
        func prefix(_ index: Int) -> String { c.shareMemoryBetweenLayers ? "rnn_layer_memory_shared." : "rnn_layer_memory_\(index)." }
        switch c.memoryKind {
        case .dense:
            sparseMemories = []
        case .sparse(let reads, let index):
            sparseMemories = (0..<c.memoryCount).map { k in
                SparseMemory(store: store, prefix: prefix(k), inputSize: c.hiddenSize, cellCount: c.cellCount, cellWidth: c.cellWidth,
                             readHeads: c.readHeads, sparseReads: reads, independentLinears: c.independentLinears, index: index)
            }
        case .sparseTemporal(let reads, let temporalReads, let index):
            sparseMemories = (0..<c.memoryCount).map { k in
                SparseTemporalMemory(store: store, prefix: prefix(k), inputSize: c.hiddenSize, cellCount: c.cellCount,
                                     cellWidth: c.cellWidth, readHeads: c.readHeads, sparseReads: reads, temporalReads: temporalReads,
                                     independentLinears: c.independentLinears, index: index)
            }
        }
        memories = c.memoryKind != .dense ? [] : (0..<c.memoryCount).map { index in
            DenseMemory(store: store, prefix: prefix(index),
                        inputSize: c.hiddenSize, cellCount: c.cellCount, cellWidth: c.cellWidth, readHeads: c.readHeads,
                        independentLinears: c.independentLinears, options: c.memoryOptions)
        }
        output = Linear(store: store, name: "output", inputSize: c.hiddenSize + c.readWidth, outputSize: c.resolvedOutputSize)
        transposedWeights = controllers.flatMap { $0.layers.map { $0.transposedWeights } }
            + memories.map { $0.interfaceTransposedWeights } + sparseMemories.map { $0.interfaceTransposedWeights }
        defaultTape = DNCTape(layers: c.layerCount, memories: c.memoryCount)
        random = CounterRandom(seed: seed)
        dropoutRandom = random.sequence(stream: 0xD0)

        for (index, stack) in controllers.enumerated() { stack.initializeDefault(random: random, stream: 0x100 + UInt64(index)) }
        for (index, memory) in memories.enumerated() { memory.initializeDefault(random: random, stream: 0x200 + UInt64(index)) }
        for (index, memory) in sparseMemories.enumerated() { memory.initializeDefault(random: random, stream: 0x200 + UInt64(index)) }
        // Kaiming-uniform (a = 0) weight and PyTorch's default bias, both on fan-in H + R·W.
        let fanIn = T(c.hiddenSize + c.readWidth)
        store.initializeUniform(output.weight, bound: (6 / fanIn).squareRoot(), random: random, stream: 0x300)
        store.initializeUniform(output.bias!, bound: 1 / fanIn.squareRoot(), random: random, stream: 0x301)
    }

    /// A fresh state for `batch` samples: zero memory and read vectors; the controller state is
    /// zero (`.paper`) or pytorch-dnc's Xavier-uniform draw with c₀ = h₀, the same for every layer
    /// (`.pytorchCompat`, drawn anew on every call, Q5).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func freshState(batch: Int) -> DNCState<T> {
        let c = configuration
        var controller = controllers[0].zeroState(batch: batch)
        if c.preset == .pytorchCompat {
            let bound = (6 / Double(batch * c.hiddenSize + c.controllerDepth * c.hiddenSize)).squareRoot()
            let draw = initialStateDraws
            initialStateDraws += 1
            for i in 0..<controller.hidden.count {
                controller.hidden[flat: i] = T(-bound + 2 * bound * random.uniform(stream: 0x400 + draw, index: UInt64(i)))
            }
            if controller.cell != nil { controller.cell = controller.hidden }
        }
        var state = DNCState(controllers: Array(repeating: controller, count: c.layerCount),
                             memories: memories.map { $0.zeroState(batch: batch) },
                             lastRead: Tensor(shape: [batch, c.readWidth]))
        state.sparseMemories = freshSparseStates(batch: batch)
        return state
    }

    /// Empty sparse states, reusing the previous fresh ones (reset lazily) when the batch matches.
    private func freshSparseStates(batch: Int) -> [SparseMemoryState<T>] {
        if sparseStatePool.count != sparseMemories.count || sparseStatePool.first?.batch != batch {
            sparseStatePool = sparseMemories.map { $0.zeroState(batch: batch) }
        } else {
            for state in sparseStatePool { state.reset() }
        }
        return sparseStatePool
    }

    /// The result of a forward call.
    public struct Output: Sendable {
        /// (B, T, Y) or (T, B, Y): the input's layout (`.paper`), or the other one
        /// (`.pytorchCompat`, Q2); see `outputIsTimeMajor`.
        public var output: Tensor<T>
        public var state: DNCState<T>
        /// With `debug: true`.
        public var trace: DNCTrace<T>?
    }

    /// Whether the output is time-major: the input's layout (`.paper`), or the opposite of it
    /// (`.pytorchCompat`, which stacks time-major and transposes only time-major input, Q2).
    public var outputIsTimeMajor: Bool {
        configuration.preset == .pytorchCompat ? configuration.batchFirst : !configuration.batchFirst
    }

    /// Runs a sequence. `input` is (B, T, X) when `batchFirst`, else (T, B, X).
    ///
    /// - `state`: nil for a fresh state; carry the returned state into the next call to process a
    ///   long stream in chunks (truncated BPTT: the next `backward` stops at its first step).
    /// - `resetExperience`: start from a zero memory (and read vector) even if `state` has one;
    ///   the gradient does not flow into the previous memory.
    /// - `passThroughMemory`: false skips the memory: read vectors are zero, memory unchanged.
    /// - `lengths`: per-sample sequence lengths; after its length a sample's state is frozen and
    ///   its outputs are zero.
    /// - `training`: dropout on. `recordForBackward`: keep what `backward` needs (O(T·N·W) and
    ///   the link every 4th step, O(T·N²/4), for the dense memory; turn off for long evaluations).
    /// - `debug`: record memory tensors of `debugBatchElement`.
    /// - `allocationOrder`: for tests reproducing PyTorch's tie order: given (step, layer),
    ///   per-sample free-list orders, or nil for the default stable sort.
    /// - `tape`: where to record for `backward` (default: `defaultTape`). Give each chunk of a
    ///   long stream its own tape to backpropagate through several calls (untruncated BPTT).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ input: Tensor<T>, state initial: DNCState<T>? = nil, resetExperience: Bool = false,
                        passThroughMemory: Bool = true, lengths: [Int]? = nil, training: Bool = false,
                        recordForBackward: Bool = true, debug: Bool = false, debugBatchElement: Int = 0,
                        allocationOrder: ((_ step: Int, _ layer: Int) -> [[Int]]?)? = nil,
                        tape recordTape: DNCTape<T>? = nil) -> Output {
        let modelTape = recordTape ?? defaultTape
        let tape = modelTape.model, controllerTapes = modelTape.controllers, memoryTapes = modelTape.memories
        let sparseTapes = modelTape.sparseMemories
        let c = configuration
        precondition(input.rank == 3 && input.shape[2] == c.inputSize,
                     "DNC input has shape \(input.shape); expected \(c.batchFirst ? "(B, T, \(c.inputSize))" : "(T, B, \(c.inputSize))")")
        let batch = c.batchFirst ? input.shape[0] : input.shape[1]
        let steps = c.batchFirst ? input.shape[1] : input.shape[0]
        if let lengths {
            precondition(lengths.count == batch && lengths.allSatisfy { $0 >= 0 && $0 <= steps },
                         "lengths \(lengths) must give one length in 0...\(steps) per sample (\(batch))")
        }
        precondition(!debug || (debugBatchElement >= 0 && debugBatchElement < batch),
                     "debug batch element \(debugBatchElement) is not in 0..<\(batch)")

        var state = initial ?? freshState(batch: batch)
        precondition(state.batch == batch, "state is for batch \(state.batch), input has batch \(batch)")
        if !sparseMemories.isEmpty { noteSparseCall(tape: modelTape, states: state.sparseMemories, recorded: recordForBackward,
                                                     reset: resetExperience || initial == nil, changesMemory: passThroughMemory) }
        if resetExperience {
            state.memories = memories.map { $0.zeroState(batch: batch) }
            for sparse in state.sparseMemories { sparse.reset() }
            state.lastRead = Tensor(shape: [batch, c.readWidth])
        }
        let layout = ModelTape<T>.Layout(configuration: c, batch: batch)
        tape.begin(layout: layout, steps: steps, recording: recordForBackward, lengths: lengths,
                   passThroughMemory: passThroughMemory, resetExperience: resetExperience, initialLastRead: state.lastRead)
        for t in controllerTapes { t.reset() }
        // Sized for the whole sequence up front (a shared memory steps once per layer and step).
        let recordsPerMemory = recordForBackward ? steps * (c.shareMemoryBetweenLayers ? c.layerCount : 1) : 1
        for t in memoryTapes { t.reset(expectingRecords: recordsPerMemory) }
        for t in sparseTapes { t.reset() }

        let y = c.resolvedOutputSize, x = c.inputSize, h = c.hiddenSize, rw = c.readWidth
        var result = Tensor<T>(shape: outputIsTimeMajor ? [steps, batch, y] : [batch, steps, y])
        var trace = debug ? DNCTrace<T>(batchElement: debugBatchElement, records: []) : nil
        if let first = sparseMemories.first {
            trace?.sparseRows = first.maximumWrites
            trace?.sparseMemoryWindow = debugMemoryWindow
        }
        var currentRead = state.lastRead
        let scratch = Scratch<T>(batch: batch, configuration: c)
        // The products use transposed copies of the weights, refreshed for this call.
        for weights in transposedWeights { weights.activate(store: store) }
        defer { for weights in transposedWeights { weights.deactivate() } }
        modelTape.transposedGenerations = transposedWeights.map(\.generation)

        for t in 0..<steps {
            let active = tape.active(step: t)
            let record = tape.record(t)
            // Layer-0 input: [x_t ; read vector]: the previous step's (paper) or the one passed in (compat).
            let chi0 = record + layout.chi[0]
            let readIn = c.preset == .paper ? currentRead : tape.initialLastRead
            input.withUnsafeBufferPointer { xs in
                readIn.withUnsafeBufferPointer { reads in
                    for b in 0..<batch {
                        let source = c.batchFirst ? (b * steps + t) * x : (t * batch + b) * x
                        (chi0 + b * layout.chiWidth[0]).update(from: xs.baseAddress! + source, count: x)
                        (chi0 + b * layout.chiWidth[0] + x).update(from: reads.baseAddress! + b * rw, count: rw)
                    }
                }
            }
            var stepRecords: [MemoryDebugRecord<T>] = []
            var sparseRecords: [SparseMemoryDebugRecord<T>] = []
            for layer in 0..<c.layerCount {
                let hidden = record + layout.hidden[layer]
                let frozen = active.flatMap { RecurrentRows(saving: state.controllers[layer], inactive: $0) }
                controllers[layer].step(input: record + layout.chi[layer], batch: batch, state: &state.controllers[layer],
                                        tape: recordForBackward ? controllerTapes[layer] : nil, training: training,
                                        dropoutRandom: &dropoutRandom, output: hidden)
                frozen?.restore(into: &state.controllers[layer])
                // o = clamp(h) goes to the memory and, with the read vectors, to the next layer.
                let o = scratch.controllerOutput
                if c.controllerOutputClip > 0 {
                    Kernels.clamp(hidden, o, count: batch * h, limit: T(c.controllerOutputClip))
                } else {
                    o.update(from: hidden, count: batch * h)
                }
                let reads = scratch.reads
                if passThroughMemory {
                    let k = c.shareMemoryBetweenLayers ? 0 : layer
                    if !sparseMemories.isEmpty {
                        sparseMemories[k].step(input: o, batch: batch, state: state.sparseMemories[k],
                                               tape: recordForBackward ? sparseTapes[k] : nil, active: active, readVectors: reads)
                        if debug {
                            sparseRecords.append(sparseMemories[k].lastStepDebugRecord(batchElement: debugBatchElement,
                                                                                       memoryWindow: debugMemoryWindow))
                        }
                    } else {
                    memories[k].step(input: o, batch: batch, state: &state.memories[k],
                                     tape: recordForBackward ? memoryTapes[k] : nil, active: active,
                                     allocationOrder: allocationOrder?(t, layer), readVectors: reads)
                    if debug { stepRecords.append(memories[k].lastStepDebugRecord(batchElement: debugBatchElement)) }
                    }
                } else {
                    Kernels.fill(reads, count: batch * rw, with: 0)
                }
                let next = record + layout.chi[layer + 1]
                for b in 0..<batch {
                    (next + b * (h + rw)).update(from: o + b * h, count: h)
                    (next + b * (h + rw) + h).update(from: reads + b * rw, count: rw)
                }
                if layer == c.layerCount - 1 {
                    currentRead.withUnsafeMutableBufferPointer { current in
                        for b in 0..<batch where active?[b] ?? true {
                            (current.baseAddress! + b * rw).update(from: reads + b * rw, count: rw)
                        }
                    }
                }
            }
            if debug {
                if sparseMemories.isEmpty { trace!.records.append(stepRecords) } else { trace!.sparseRecords.append(sparseRecords) }
            }
            // y_t = W_out [o ; r] + b, zero for finished samples.
            let outputRows = scratch.outputRows
            output.forward(store: store, input: record + layout.chi[c.layerCount], rows: batch, output: outputRows)
            result.withUnsafeMutableBufferPointer { out in
                for b in 0..<batch {
                    let target = out.baseAddress! + (outputIsTimeMajor ? (t * batch + b) * y : (b * steps + t) * y)
                    if active?[b] ?? true { target.update(from: outputRows + b * y, count: y) }
                    else { Kernels.fill(target, count: y, with: 0) }
                }
            }
        }
        state.lastRead = currentRead
        return Output(output: result, state: state, trace: trace)
    }

    /// Keeps `sparseHistory` to the calls whose logs can still be undone on these states: a
    /// call without a log, or a reset (a fresh state is a reset one), makes the earlier logs of
    /// the same states unusable. Tapes are held weakly.
    private func noteSparseCall(tape: DNCTape<T>, states: [SparseMemoryState<T>], recorded: Bool, reset: Bool,
                                changesMemory: Bool) {
        let ids = states.map(ObjectIdentifier.init)
        sparseHistory.removeAll { entry in
            entry.tape == nil || entry.tape === tape || (changesMemory && (!recorded || reset) && entry.states.contains { ids.contains($0) })
        }
        if recorded && changesMemory { sparseHistory.append(SparseCall(tape: tape, states: ids)) }
    }

    /// The tapes of the calls recorded after `tape` on the same sparse states, oldest first.
    private func laterSparseCalls(after tape: DNCTape<T>) -> [DNCTape<T>] {
        guard let index = sparseHistory.firstIndex(where: { $0.tape === tape }) else { return [] }
        let states = sparseHistory[index].states
        return sparseHistory[(index + 1)...].filter { entry in entry.states.contains { states.contains($0) } }.compactMap(\.tape)
    }

    /// Gradients of a backward call that are not parameters.
    public struct Gradients: Sendable {
        /// d loss / d input, in the input's layout.
        public var input: Tensor<T>
        /// d loss / d initial state (zero memory part after `resetExperience`). For sparse memories
        /// it includes `sparseMemoryGradients`: pass it as `finalStateGradient` to the backward of
        /// the previous call (recorded on its own tape) to backpropagate through both.
        public var initialState: DNCState<T>
    }

    /// Backpropagation through the `forward` recorded on `tape` (default: the last call without a
    /// tape of its own). `outputGradient` has the output's layout; `finalStateGradient`
    /// (optional) is d loss / d returned state. Parameter gradients accumulate into `store.gradients`.
    ///
    /// Sparse memories are rolled back step by step and then put back at the end of the calls
    /// made so far, so backward calls may come in any order after the forwards; a backward
    /// through an earlier call first undoes the later calls' logs (O(their steps), no search).
    /// That needs every call since on the same state recorded on its own tape, with no
    /// `resetExperience`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(outputGradient: Tensor<T>, finalStateGradient: DNCState<T>? = nil,
                         tape recordTape: DNCTape<T>? = nil) -> Gradients {
        let c = configuration
        let modelTape = recordTape ?? defaultTape
        let tape = modelTape.model, controllerTapes = modelTape.controllers, memoryTapes = modelTape.memories
        let sparseTapes = modelTape.sparseMemories
        precondition(tape.recording && tape.layout != nil, "backward needs a forward with recordForBackward: true on this tape")
        let layout = tape.layout!, batch = layout.batch, steps = tape.steps
        let y = c.resolvedOutputSize, x = c.inputSize, h = c.hiddenSize, rw = c.readWidth
        precondition(outputGradient.shape == (outputIsTimeMajor ? [steps, batch, y] : [batch, steps, y]),
                     "output gradient has shape \(outputGradient.shape), expected the output's")
        var stateGradient = finalStateGradient ?? DNCState(
            controllers: controllers.map { $0.zeroState(batch: batch) },
            memories: memories.map { $0.zeroState(batch: batch) },
            lastRead: Tensor(shape: [batch, rw]))
        var sparseGradients = sparseMemories.map { $0.zeroStateGradient(batch: batch) }
        if let given = finalStateGradient?.sparseMemoryGradients, !given.isEmpty {
            precondition(given.count == sparseGradients.count && zip(given, sparseGradients).allSatisfy { $0.samples.count == $1.samples.count },
                         "the final state gradient's sparse memory gradients do not match this model and batch")
            sparseGradients = given
        }
        // Later calls on the same sparse states are undone first, latest first, and redone after.
        let later = laterSparseCalls(after: modelTape)
        if tape.passThroughMemory {
            for entry in later.reversed() { for (k, memory) in sparseMemories.enumerated() { memory.rollBack(tape: entry.sparseMemories[k]) } }
        }
        var inputGradient = Tensor<T>(shape: c.batchFirst ? [batch, steps, x] : [steps, batch, x])
        var initialReadGradient = Tensor<T>(shape: [batch, rw])
        let scratch = Scratch<T>(batch: batch, configuration: c)
        // The forward's transposed copies of the weights, unless another forward refreshed them.
        for (k, weights) in transposedWeights.enumerated() {
            weights.activate(store: store, keeping: modelTape.transposedGenerations.count == transposedWeights.count
                                 ? modelTape.transposedGenerations[k] : nil)
        }
        defer { for weights in transposedWeights { weights.deactivate() } }

        for t in stride(from: steps - 1, through: 0, by: -1) {
            let active = tape.active(step: t)
            let record = tape.record(t)
            // Output layer: d[o ; r] of the last layer.
            let dy = scratch.outputRows
            outputGradient.withUnsafeBufferPointer { g in
                for b in 0..<batch {
                    let source = g.baseAddress! + (outputIsTimeMajor ? (t * batch + b) * y : (b * steps + t) * y)
                    if active?[b] ?? true { (dy + b * y).update(from: source, count: y) }
                    else { Kernels.fill(dy + b * y, count: y, with: 0) }
                }
            }
            var dUpper = scratch.dUpper
            output.backward(store: store, input: record + layout.chi[c.layerCount], outputGradient: dy, rows: batch,
                            inputGradient: dUpper)
            // The carried read vector after this step is this step's last-layer read (for active samples).
            stateGradient.lastRead.withUnsafeMutableBufferPointer { carry in
                for b in 0..<batch where active?[b] ?? true {
                    Kernels.axpy(rw, alpha: 1, carry.baseAddress! + b * rw, dUpper + b * (h + rw) + h)
                    Kernels.fill(carry.baseAddress! + b * rw, count: rw, with: 0)
                }
            }
            for layer in stride(from: c.layerCount - 1, through: 0, by: -1) {
                let dO = scratch.controllerOutput, dReads = scratch.reads
                for b in 0..<batch {
                    (dO + b * h).update(from: dUpper + b * (h + rw), count: h)
                    (dReads + b * rw).update(from: dUpper + b * (h + rw) + h, count: rw)
                }
                if tape.passThroughMemory {
                    let k = c.shareMemoryBetweenLayers ? 0 : layer
                    let stepIndex = c.shareMemoryBetweenLayers ? t * c.layerCount + layer : t
                    let dMemoryInput = scratch.memoryInputGradient
                    if !sparseMemories.isEmpty {
                        sparseMemories[k].backwardStep(tape: sparseTapes[k], stepIndex: stepIndex, readVectorsGradient: dReads,
                                                       stateGradient: &sparseGradients[k], inputGradient: dMemoryInput)
                    } else {
                        memories[k].backwardStep(tape: memoryTapes[k], stepIndex: stepIndex, readVectorsGradient: dReads,
                                                 stateGradient: &stateGradient.memories[k], inputGradient: dMemoryInput)
                    }
                    Kernels.axpy(batch * h, alpha: 1, dMemoryInput, dO)
                }
                // Through the clamp: the gradient passes where −clip ≤ h ≤ clip.
                let hidden = record + layout.hidden[layer]
                if c.controllerOutputClip > 0 {
                    let limit = T(c.controllerOutputClip)
                    for i in 0..<(batch * h) where hidden[i] < -limit || hidden[i] > limit { dO[i] = 0 }
                }
                let frozen = active.flatMap { RecurrentRows(saving: stateGradient.controllers[layer], inactive: $0) }
                if let frozen { frozen.zero(in: &stateGradient.controllers[layer]); frozen.zeroRows(dO, width: h) }
                let dChi = scratch.dChi(layer)
                controllers[layer].backwardStep(tape: controllerTapes[layer], stepIndex: t, outputGradient: dO,
                                                stateGradient: &stateGradient.controllers[layer], inputGradient: dChi)
                frozen?.restore(into: &stateGradient.controllers[layer])
                if layer > 0 {
                    dUpper = dChi
                } else {
                    let width = layout.chiWidth[0]
                    inputGradient.withUnsafeMutableBufferPointer { dx in
                        for b in 0..<batch {
                            let target = c.batchFirst ? (b * steps + t) * x : (t * batch + b) * x
                            (dx.baseAddress! + target).update(from: dChi + b * width, count: x)
                        }
                    }
                    // The read vector in the controller input: the previous step's (paper) or the initial one (compat).
                    if c.preset == .paper {
                        stateGradient.lastRead.withUnsafeMutableBufferPointer { carry in
                            for b in 0..<batch { Kernels.axpy(rw, alpha: 1, dChi + b * width + x, carry.baseAddress! + b * rw) }
                        }
                    } else {
                        initialReadGradient.withUnsafeMutableBufferPointer { g in
                            for b in 0..<batch { Kernels.axpy(rw, alpha: 1, dChi + b * width + x, g.baseAddress! + b * rw) }
                        }
                    }
                }
            }
        }
        for i in 0..<initialReadGradient.count { stateGradient.lastRead[flat: i] += initialReadGradient[flat: i] }
        // The sparse backward rolled the memories back to the start of the call; put them back
        // at its end, where the next call continues.
        if tape.passThroughMemory {
            for (k, memory) in sparseMemories.enumerated() { memory.restoreFinalState(tape: sparseTapes[k]) }
            for entry in later { for (k, memory) in sparseMemories.enumerated() { memory.restoreFinalState(tape: entry.sparseMemories[k]) } }
        }
        stateGradient.sparseMemories = []
        stateGradient.sparseMemoryGradients = tape.resetExperience ? [] : sparseGradients
        if tape.resetExperience {
            // A reset cuts the gradient into the memory and read vector that came before it.
            stateGradient.memories = memories.map { $0.zeroState(batch: batch) }
            stateGradient.lastRead = Tensor(shape: [batch, rw])
        }
        return Gradients(input: inputGradient, initialState: stateGradient)
    }
}

/// Everything one `forward` call records for its `backward`: the model's own per-step inputs and
/// the controllers' and memories' tapes.
public final class DNCTape<T: Real>: @unchecked Sendable {
    let model = ModelTape<T>()
    let controllers: [RecurrentTape<T>]
    let memories: [DenseMemoryTape<T>]
    let sparseMemories: [SparseMemoryTape<T>]
    /// The generations of the model's transposed weight copies the forward used (its backward
    /// uses the same copies while no other forward has refreshed them).
    var transposedGenerations: [Int] = []

    init(layers: Int, memories memoryCount: Int) {
        controllers = (0..<layers).map { _ in RecurrentTape<T>() }
        memories = (0..<memoryCount).map { _ in DenseMemoryTape<T>() }
        sparseMemories = (0..<memoryCount).map { _ in SparseMemoryTape<T>() }
    }

    /// A tape for `model`'s calls.
    public convenience init(for model: DNC<T>) {
        self.init(layers: model.configuration.layerCount, memories: model.configuration.memoryCount)
    }
}

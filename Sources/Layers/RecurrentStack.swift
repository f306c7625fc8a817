import DNCNumerics

/// `depth` recurrent layers of one kind (PyTorch's `nn.LSTM/GRU/RNN(num_layers: depth)`):
/// layer 0 reads the stack input, layer k ≥ 1 reads layer k−1's h, with inter-layer dropout in
/// training mode; the stack output is the top layer's h.
///
/// Forward and backward run one time step at a time (the DNC interleaves memory steps) or over a
/// whole sequence. Backpropagation through time replays the tape in reverse; truncated BPTT is
/// carrying the final state into the next call and dropping the initial-state gradient.
public final class RecurrentStack<T: Real>: @unchecked Sendable {
    public let kind: RecurrentCellKind
    public let inputSize: Int
    public let hiddenSize: Int
    public let layers: [RecurrentLayer<T>]
    /// Probability of zeroing an inter-layer activation in training mode.
    public let dropout: Double
    public let store: ParameterStore<T>

    private var scratch: UnsafeMutablePointer<T>
    private var scratchCapacity = 0
    private let inferenceTape = RecurrentTape<T>()

    public var depth: Int { layers.count }

    /// Registers `<prefix>weight_ih_l<k>`, `<prefix>weight_hh_l<k>`, `<prefix>bias_ih_l<k>`,
    /// `<prefix>bias_hh_l<k>` for k in 0..<depth.
    public init(store: ParameterStore<T>, prefix: String = "", kind: RecurrentCellKind, inputSize: Int,
                hiddenSize: Int, depth: Int = 1, bias: Bool = true, dropout: Double = 0) {
        precondition(depth >= 1, "a recurrent stack needs at least one layer, got \(depth)")
        precondition(dropout >= 0 && dropout < 1, "dropout must be in [0, 1), got \(dropout)")
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.dropout = dropout
        self.store = store
        layers = (0..<depth).map { k in
            RecurrentLayer(store: store, prefix: prefix, layerIndex: k, kind: kind,
                           inputSize: k == 0 ? inputSize : hiddenSize, hiddenSize: hiddenSize, bias: bias)
        }
        scratch = .allocate(capacity: 1)
    }

    deinit { scratch.deallocate() }

    public func initializeDefault(random: CounterRandom, stream: UInt64) {
        for layer in layers { layer.initializeDefault(store: store, random: random, stream: stream) }
    }

    public func zeroState(batch: Int) -> RecurrentState<T> {
        .zeros(kind: kind, layers: depth, batch: batch, hiddenSize: hiddenSize)
    }

    // MARK: Weight copies

    /// Refreshes every layer's weight copies from the store and uses them for the per-step
    /// products until `deactivateWeightCopies` (see `WeightCopies`). A model calls the pair
    /// around each forward and backward pass; `forward(_:from:...)` does it itself.
    public func activateWeightCopies() {
        for layer in layers { for copies in layer.weightCopies { copies.activate(store: store) } }
    }

    public func deactivateWeightCopies() {
        for layer in layers { for copies in layer.weightCopies { copies.deactivate() } }
    }

    // MARK: Tape fields

    /// The fields each layer keeps per step (B rows each): its input x (in_k), h_prev (H),
    /// c_prev (H, LSTM), the cell cache, the dropout scale applied to x (H, k ≥ 1 with dropout),
    /// and, written by the backward, the gate gradients (G, and G again for the GRU's hidden part).
    enum Field: Int, CaseIterable { case input, hiddenPrevious, cellPrevious, cache, mask, dGates, dGatesHidden }

    func fieldIndex(_ layer: Int, _ field: Field) -> Int { layer * Field.allCases.count + field.rawValue }

    func fieldSizes(batch: Int) -> [Int] {
        layers.enumerated().flatMap { (k, layer) -> [Int] in
            Field.allCases.map { field in
                switch field {
                case .input: batch * layer.inputSize
                case .hiddenPrevious: batch * hiddenSize
                case .cellPrevious: kind.hasCellState ? batch * hiddenSize : 0
                case .cache: batch * hiddenSize * kind.cacheWidthInHidden
                case .mask: k > 0 && dropout > 0 ? batch * hiddenSize : 0
                case .dGates: batch * layer.gateRows
                case .dGatesHidden: kind == .gru ? batch * layer.gateRows : 0
                }
            }
        }
    }

    /// B·(max(3H, in) + 2H) values: the GRU's hidden part (B×3H) or the rows [x | h] of a
    /// forward product (B·(in + H)), then the backward's two B×H gradients.
    private func scratchBuffer(batch: Int) -> UnsafeMutablePointer<T> {
        let needed = batch * Swift.max(3 * hiddenSize, inputSize) + batch * hiddenSize * 2
        if needed > scratchCapacity {
            scratch.deallocate()
            scratch = .allocate(capacity: needed)
            scratchCapacity = needed
        }
        return scratch
    }

    // MARK: One step

    /// Runs one time step. `input` is B×in; the top layer's new h is written to `output` (B×H)
    /// and `state` is advanced. With a `tape`, the step is recorded for `backwardStep`.
    /// In training mode with dropout > 0 the masks are drawn from `dropoutRandom`, which advances
    /// by (depth−1)·B·H draws; pass the same sequence position to get the same masks.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(input: UnsafePointer<T>, batch: Int, state: inout RecurrentState<T>,
                     tape: RecurrentTape<T>?, training: Bool = false,
                     dropoutRandom: inout RandomSequence, output: UnsafeMutablePointer<T>) {
        precondition(state.hidden.shape == [depth, batch, hiddenSize],
                     "state has shape \(state.hidden.shape), expected \([depth, batch, hiddenSize])")
        let activeTape = tape ?? inferenceTape
        if tape == nil { inferenceTape.reset() }
        let t = activeTape.appendStep(batch: batch, fieldSizes: fieldSizes(batch: batch))
        func field(_ k: Int, _ f: Field) -> UnsafeMutablePointer<T> { activeTape.field(fieldIndex(k, f), t) }
        let work = scratchBuffer(batch: batch)
        let bh = batch * hiddenSize
        let keepScale = T(1 / (1 - dropout))

        withStatePointers(&state) { hiddenAll, cellAll in
            for (k, layer) in layers.enumerated() {
                let x = field(k, .input)
                if k == 0 {
                    x.update(from: input, count: batch * inputSize)
                } else {
                    x.update(from: hiddenAll + (k - 1) * bh, count: bh)
                    if dropout > 0 {
                        let mask = field(k, .mask)
                        for i in 0..<bh {
                            let keep = !training || dropoutRandom.nextUniform() >= dropout
                            mask[i] = training ? (keep ? keepScale : 0) : 1
                            x[i] *= mask[i]
                        }
                    }
                }
                let hp = field(k, .hiddenPrevious)
                hp.update(from: hiddenAll + k * bh, count: bh)
                switch kind {
                case .lstm:
                    let cp = field(k, .cellPrevious)
                    cp.update(from: cellAll! + k * bh, count: bh)
                    layer.lstmForward(store: store, input: x, hiddenPrevious: hp, cellPrevious: cp, batch: batch,
                                      cache: field(k, .cache), hiddenOut: hiddenAll + k * bh, cellOut: cellAll! + k * bh,
                                      scratch: work)
                case .gru:
                    layer.gruForward(store: store, input: x, hiddenPrevious: hp, batch: batch,
                                     cache: field(k, .cache), hiddenOut: hiddenAll + k * bh, scratch: work)
                case .rnn(let activation):
                    layer.rnnForward(store: store, input: x, hiddenPrevious: hp, batch: batch, activation: activation,
                                     cache: field(k, .cache), hiddenOut: hiddenAll + k * bh, scratch: work)
                }
            }
            output.update(from: hiddenAll + (depth - 1) * bh, count: bh)
        }
    }

    /// Backward of recorded step `stepIndex`. `outputGradient` (B×H) is the gradient reaching the
    /// top layer's output at this step; `stateGradient` holds the gradient reaching the state
    /// *after* this step and is replaced by the gradient of the state *before* it. The gradient
    /// of the step's input is written to `inputGradient` (B×in). Parameter gradients accumulate
    /// when the backward reaches step 0, for all the steps it went through (one product per
    /// weight for the whole sequence).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backwardStep(tape: RecurrentTape<T>, stepIndex: Int, outputGradient: UnsafePointer<T>,
                             stateGradient: inout RecurrentState<T>, inputGradient: UnsafeMutablePointer<T>) {
        let batch = tape.batch
        func field(_ k: Int, _ f: Field) -> UnsafeMutablePointer<T> { tape.field(fieldIndex(k, f), stepIndex) }
        let bh = batch * hiddenSize
        let work = scratchBuffer(batch: batch)
        // The gradient reaching a layer's output (B×H), and the one handed from layer k to k−1 (B×H).
        let dLayerOutput = work + batch * Swift.max(3 * hiddenSize, inputSize)
        let dBelow = dLayerOutput + bh
        tape.pendingBackward = tape.pendingBackward.map { Swift.min($0.lowerBound, stepIndex)...Swift.max($0.upperBound, stepIndex) }
            ?? stepIndex...stepIndex

        withStatePointers(&stateGradient) { dHiddenAll, dCellAll in
            dLayerOutput.update(from: outputGradient, count: bh)
            for k in stride(from: depth - 1, through: 0, by: -1) {
                let layer = layers[k]
                // Total gradient at this layer's h: from above (or the output) plus from the future.
                let dh = dLayerOutput
                Kernels.axpy(bh, alpha: 1, dHiddenAll + k * bh, dh)
                let dx = k == 0 ? inputGradient : dBelow
                switch kind {
                case .lstm:
                    layer.lstmBackward(store: store, cellPrevious: field(k, .cellPrevious), batch: batch,
                                       cache: field(k, .cache), dHidden: dh, dCell: dCellAll! + k * bh,
                                       dInput: dx, dHiddenPrevious: dHiddenAll + k * bh, dGates: field(k, .dGates))
                case .gru:
                    layer.gruBackward(store: store, hiddenPrevious: field(k, .hiddenPrevious), batch: batch,
                                      cache: field(k, .cache), dHidden: dh, dInput: dx, dHiddenPrevious: dHiddenAll + k * bh,
                                      dGatesInput: field(k, .dGates), dGatesHidden: field(k, .dGatesHidden))
                case .rnn(let activation):
                    layer.rnnBackward(store: store, batch: batch, activation: activation, cache: field(k, .cache),
                                      dHidden: dh, dInput: dx, dHiddenPrevious: dHiddenAll + k * bh, dGates: field(k, .dGates))
                }
                if k > 0 {
                    if dropout > 0 {
                        let mask = field(k, .mask)
                        for i in 0..<bh { dBelow[i] *= mask[i] }
                    }
                    dLayerOutput.update(from: dBelow, count: bh)
                }
            }
        }
        if stepIndex == 0 { accumulatePendingWeightGradients(tape: tape) }
    }

    /// Folds the gate gradients of the steps the backward went through into the weight gradients:
    /// per weight one product over all those steps' rows.
    func accumulatePendingWeightGradients(tape: RecurrentTape<T>) {
        guard let pending = tape.pendingBackward else { return }
        tape.pendingBackward = nil
        let rows = tape.batch * pending.count, first = pending.lowerBound
        for (k, layer) in layers.enumerated() {
            func field(_ f: Field) -> UnsafeMutablePointer<T> { tape.field(fieldIndex(k, f), first) }
            layer.accumulateWeightGradients(store: store, rows: rows, inputs: field(.input), hiddenPrevious: field(.hiddenPrevious),
                                            dGatesInput: field(.dGates), dGatesHidden: kind == .gru ? field(.dGatesHidden) : nil)
        }
    }

    /// Raw pointers to a state's h and (LSTM) c. The tensors are moved out of `state` for the
    /// duration, so the two buffers can be written together without copying.
    private func withStatePointers(_ state: inout RecurrentState<T>,
                                   _ body: (UnsafeMutablePointer<T>, UnsafeMutablePointer<T>?) -> Void) {
        var hidden = Tensor<T>(shape: [0])
        var cell: Tensor<T>? = nil
        swap(&hidden, &state.hidden)
        swap(&cell, &state.cell)
        defer {
            swap(&hidden, &state.hidden)
            swap(&cell, &state.cell)
        }
        hidden.withUnsafeMutableBufferPointer { h in
            if cell == nil { body(h.baseAddress!, nil); return }
            cell!.withUnsafeMutableBufferPointer { c in body(h.baseAddress!, c.baseAddress!) }
        }
    }

    // MARK: Whole sequences

    /// Runs a time-major sequence `inputs` (T, B, in) from `state`; returns the top layer's
    /// outputs (T, B, H) and the final state. Records every step on `tape` (reset first) when given.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ inputs: Tensor<T>, from state: RecurrentState<T>, tape: RecurrentTape<T>? = nil,
                        training: Bool = false, dropoutRandom: inout RandomSequence) -> (outputs: Tensor<T>, state: RecurrentState<T>) {
        precondition(inputs.rank == 3 && inputs.shape[2] == inputSize,
                     "inputs have shape \(inputs.shape), expected (T, B, \(inputSize))")
        let steps = inputs.shape[0], batch = inputs.shape[1]
        tape?.reset()
        activateWeightCopies()
        defer { deactivateWeightCopies() }
        var current = state
        var outputs = Tensor<T>(shape: [steps, batch, hiddenSize])
        inputs.withUnsafeBufferPointer { x in
            outputs.withUnsafeMutableBufferPointer { y in
                for t in 0..<steps {
                    step(input: x.baseAddress! + t * batch * inputSize, batch: batch, state: &current, tape: tape,
                         training: training, dropoutRandom: &dropoutRandom,
                         output: y.baseAddress! + t * batch * hiddenSize)
                }
            }
        }
        return (outputs, current)
    }

    /// Backpropagation through the whole recorded sequence. `outputGradients` is (T, B, H);
    /// `finalStateGradient` is the gradient reaching the final state (nil = zero). Returns the
    /// input gradients (T, B, in) and the gradient of the initial state.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(tape: RecurrentTape<T>, outputGradients: Tensor<T>,
                         finalStateGradient: RecurrentState<T>? = nil) -> (inputs: Tensor<T>, initialState: RecurrentState<T>) {
        let steps = tape.steps, batch = tape.batch
        precondition(outputGradients.shape == [steps, batch, hiddenSize],
                     "output gradients have shape \(outputGradients.shape), expected \([steps, batch, hiddenSize])")
        var stateGradient = finalStateGradient ?? zeroState(batch: batch)
        activateWeightCopies()
        defer { deactivateWeightCopies() }
        var inputGradients = Tensor<T>(shape: [steps, batch, inputSize])
        outputGradients.withUnsafeBufferPointer { dy in
            inputGradients.withUnsafeMutableBufferPointer { dx in
                for t in stride(from: steps - 1, through: 0, by: -1) {
                    backwardStep(tape: tape, stepIndex: t, outputGradient: dy.baseAddress! + t * batch * hiddenSize,
                                 stateGradient: &stateGradient, inputGradient: dx.baseAddress! + t * batch * inputSize)
                }
            }
        }
        return (inputGradients, stateGradient)
    }
}

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

    // MARK: Record layout

    /// Offsets inside one step's record, per layer: input x (B×in_k), h_prev (B×H),
    /// c_prev (B×H, LSTM only), the cell cache, and the dropout scale applied to x (B×H, k ≥ 1
    /// when dropout > 0).
    struct LayerRecord { var input = 0, hiddenPrevious = 0, cellPrevious = 0, cache = 0, mask = -1 }

    func recordLayout(batch: Int) -> (layers: [LayerRecord], size: Int) {
        var offset = 0
        var records: [LayerRecord] = []
        for (k, layer) in layers.enumerated() {
            var r = LayerRecord()
            r.input = offset; offset += batch * layer.inputSize
            r.hiddenPrevious = offset; offset += batch * hiddenSize
            if kind.hasCellState { r.cellPrevious = offset; offset += batch * hiddenSize }
            r.cache = offset; offset += batch * hiddenSize * kind.cacheWidthInHidden
            if k > 0 && dropout > 0 { r.mask = offset; offset += batch * hiddenSize }
            records.append(r)
        }
        return (records, offset)
    }

    private func scratchBuffer(batch: Int) -> UnsafeMutablePointer<T> {
        let needed = batch * Swift.max(8 * hiddenSize, inputSize) + batch * hiddenSize * 2
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
    public func step(input: UnsafePointer<T>, batch: Int, state: inout RecurrentState<T>,
                     tape: RecurrentTape<T>?, training: Bool = false,
                     dropoutRandom: inout RandomSequence, output: UnsafeMutablePointer<T>) {
        precondition(state.hidden.shape == [depth, batch, hiddenSize],
                     "state has shape \(state.hidden.shape), expected \([depth, batch, hiddenSize])")
        let (layout, size) = recordLayout(batch: batch)
        let activeTape = tape ?? inferenceTape
        if tape == nil { inferenceTape.reset() }
        let record = activeTape.appendRecord(batch: batch, recordSize: size)
        let work = scratchBuffer(batch: batch)
        let bh = batch * hiddenSize
        let keepScale = T(1 / (1 - dropout))

        withStatePointers(&state) { hiddenAll, cellAll in
            for (k, layer) in layers.enumerated() {
                let r = layout[k]
                let x = record + r.input
                if k == 0 {
                    x.update(from: input, count: batch * inputSize)
                } else {
                    x.update(from: hiddenAll + (k - 1) * bh, count: bh)
                    if r.mask >= 0 {
                        let mask = record + r.mask
                        for i in 0..<bh {
                            let keep = !training || dropoutRandom.nextUniform() >= dropout
                            mask[i] = training ? (keep ? keepScale : 0) : 1
                            x[i] *= mask[i]
                        }
                    }
                }
                let hp = record + r.hiddenPrevious
                hp.update(from: hiddenAll + k * bh, count: bh)
                switch kind {
                case .lstm:
                    let cp = record + r.cellPrevious
                    cp.update(from: cellAll! + k * bh, count: bh)
                    layer.lstmForward(store: store, input: x, hiddenPrevious: hp, cellPrevious: cp, batch: batch,
                                      cache: record + r.cache, hiddenOut: hiddenAll + k * bh, cellOut: cellAll! + k * bh)
                case .gru:
                    layer.gruForward(store: store, input: x, hiddenPrevious: hp, batch: batch,
                                     cache: record + r.cache, hiddenOut: hiddenAll + k * bh, scratch: work)
                case .rnn(let activation):
                    layer.rnnForward(store: store, input: x, hiddenPrevious: hp, batch: batch, activation: activation,
                                     cache: record + r.cache, hiddenOut: hiddenAll + k * bh)
                }
            }
            output.update(from: hiddenAll + (depth - 1) * bh, count: bh)
        }
    }

    /// Backward of recorded step `stepIndex`. `outputGradient` (B×H) is the gradient reaching the
    /// top layer's output at this step; `stateGradient` holds the gradient reaching the state
    /// *after* this step and is replaced by the gradient of the state *before* it. The gradient
    /// of the step's input is written to `inputGradient` (B×in). Parameter gradients accumulate.
    public func backwardStep(tape: RecurrentTape<T>, stepIndex: Int, outputGradient: UnsafePointer<T>,
                             stateGradient: inout RecurrentState<T>, inputGradient: UnsafeMutablePointer<T>) {
        let batch = tape.batch
        let (layout, _) = recordLayout(batch: batch)
        let record = tape.record(stepIndex)
        let bh = batch * hiddenSize
        let work = scratchBuffer(batch: batch)
        // dTop (B×H) then the gradient handed from layer k to k−1 (B×H), after the cell scratch.
        let cellScratch = work, dLayerOutput = work + batch * Swift.max(8 * hiddenSize, inputSize)
        let dBelow = dLayerOutput + bh

        withStatePointers(&stateGradient) { dHiddenAll, dCellAll in
            dLayerOutput.update(from: outputGradient, count: bh)
            for k in stride(from: depth - 1, through: 0, by: -1) {
                let layer = layers[k], r = layout[k]
                // Total gradient at this layer's h: from above (or the output) plus from the future.
                let dh = dLayerOutput
                Kernels.axpy(bh, alpha: 1, dHiddenAll + k * bh, dh)
                let x = record + r.input, hp = record + r.hiddenPrevious
                let dx = k == 0 ? inputGradient : dBelow
                switch kind {
                case .lstm:
                    layer.lstmBackward(store: store, input: x, hiddenPrevious: hp, cellPrevious: record + r.cellPrevious,
                                       batch: batch, cache: record + r.cache, dHidden: dh, dCell: dCellAll! + k * bh,
                                       dInput: dx, dHiddenPrevious: dHiddenAll + k * bh, scratch: cellScratch)
                case .gru:
                    layer.gruBackward(store: store, input: x, hiddenPrevious: hp, batch: batch, cache: record + r.cache,
                                      dHidden: dh, dInput: dx, dHiddenPrevious: dHiddenAll + k * bh, scratch: cellScratch)
                case .rnn(let activation):
                    layer.rnnBackward(store: store, input: x, hiddenPrevious: hp, batch: batch, activation: activation,
                                      cache: record + r.cache, dHidden: dh, dInput: dx,
                                      dHiddenPrevious: dHiddenAll + k * bh, scratch: cellScratch)
                }
                if k > 0 {
                    if r.mask >= 0 {
                        let mask = record + r.mask
                        for i in 0..<bh { dBelow[i] *= mask[i] }
                    }
                    dLayerOutput.update(from: dBelow, count: bh)
                }
            }
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
    public func forward(_ inputs: Tensor<T>, from state: RecurrentState<T>, tape: RecurrentTape<T>? = nil,
                        training: Bool = false, dropoutRandom: inout RandomSequence) -> (outputs: Tensor<T>, state: RecurrentState<T>) {
        precondition(inputs.rank == 3 && inputs.shape[2] == inputSize,
                     "inputs have shape \(inputs.shape), expected (T, B, \(inputSize))")
        let steps = inputs.shape[0], batch = inputs.shape[1]
        tape?.reset()
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
    public func backward(tape: RecurrentTape<T>, outputGradients: Tensor<T>,
                         finalStateGradient: RecurrentState<T>? = nil) -> (inputs: Tensor<T>, initialState: RecurrentState<T>) {
        let steps = tape.steps, batch = tape.batch
        precondition(outputGradients.shape == [steps, batch, hiddenSize],
                     "output gradients have shape \(outputGradients.shape), expected \([steps, batch, hiddenSize])")
        var stateGradient = finalStateGradient ?? zeroState(batch: batch)
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

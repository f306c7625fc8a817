import DNCGPU
import DNCLayers
import DNCNumerics

/// The device twin of DNCLayers.RecurrentStack (LSTM, GRU, RNN tanh/relu; depth ≥ 1; bias on/off;
/// dropout between stacked layers with exactly the CPU's masks): per-step forward recorded on a
/// device tape, per-step backward in reverse order, weight gradients accumulated into
/// `DeviceParameters.gradients` when the backward reaches step 0, one product per weight over
/// all the steps it went through (as the CPU does).
///
/// Per layer and step the forward is one product launch (x·W_ihᵀ + h·W_hhᵀ, the weights read in
/// place through the product's transpose flag; two for the GRU, which keeps h·W_hhᵀ apart) and
/// one fused cell kernel (`recurrent_cells.cu`: biases, gates,
/// the state in place, the tape, the output, the next layer's input with its dropout mask drawn
/// on the device from the same Philox stream), so a step never waits for the host.
public final class GPURecurrentStack<T: Real> {
    public let stack: RecurrentStack<T>
    public let parameters: DeviceParameters<T>
    public var device: any KernelDevice { parameters.device }
    public var kind: RecurrentCellKind { stack.kind }
    public var depth: Int { stack.depth }
    public var inputSize: Int { stack.inputSize }
    public var hiddenSize: Int { stack.hiddenSize }

    /// The recorded steps of the current sequence (nil before the first recording).
    private var tape: Tape?
    /// One step's worth of the same buffers, for steps that are not recorded.
    private var workTape: Tape?
    /// B×3H: the GRU's h·W_hhᵀ; then two B×H gradients handed between layers in the backward.
    private var scratch: DeviceArray<T>?
    private var batch = 0
    private var recording = false
    /// Steps recorded so far in this sequence, and which of them drew dropout masks.
    private var recordedSteps = 0
    private var maskedSteps: [Bool] = []
    /// Steps whose gate gradients are on the tape but not yet in the weight gradients.
    private var pendingBackward: ClosedRange<Int>?

    public init(_ stack: RecurrentStack<T>, parameters: DeviceParameters<T>) throws {
        precondition(parameters.store === stack.store, "the device parameters must be those of the stack's store")
        self.stack = stack
        self.parameters = parameters
    }

    deinit {
        if let scratch { device.free(scratch) }
    }

    // MARK: State

    /// Device state: hidden (depth×B×H) and, for LSTM, cell (depth×B×H), zeros.
    public func makeState(batch: Int) throws -> GPURecurrentState<T> {
        try GPURecurrentState(device: device, depth: depth, batch: batch, hiddenSize: hiddenSize, hasCell: kind.hasCellState)
    }

    public func upload(_ state: RecurrentState<T>, into target: GPURecurrentState<T>) throws {
        precondition(state.hidden.shape == [depth, target.batch, hiddenSize] && (state.cell == nil) == (target.cell == nil),
                     "state of shape \(state.hidden.shape) does not fit a device state of batch \(target.batch)")
        try device.upload(state.hidden.storage, to: target.hidden)
        if let cell = state.cell, let targetCell = target.cell { try device.upload(cell.storage, to: targetCell) }
    }

    public func download(_ state: GPURecurrentState<T>) throws -> RecurrentState<T> {
        let shape = [state.depth, state.batch, state.hiddenSize]
        return RecurrentState(hidden: Tensor(shape: shape, storage: try device.download(state.hidden)),
                              cell: try state.cell.map { Tensor(shape: shape, storage: try device.download($0)) })
    }

    // MARK: Sequences

    /// Starts a call of up to `steps` steps for `batch` samples (sizes the tape when recording).
    public func beginSequence(batch: Int, steps: Int, recording: Bool) throws {
        precondition(batch >= 1 && steps >= 0, "a sequence needs batch ≥ 1 and steps ≥ 0 (batch \(batch), steps \(steps))")
        if batch != self.batch || scratch == nil {
            if let scratch { device.free(scratch) }
            scratch = nil
            scratch = try device.zeros(T.self, count: batch * (3 * hiddenSize + 2 * hiddenSize))
            workTape = try Tape(stack: self, batch: batch, capacity: 1)
            tape = nil
            self.batch = batch
        }
        if recording {
            if tape == nil || tape!.capacity < steps { tape = try Tape(stack: self, batch: batch, capacity: Swift.max(steps, 1)) }
            recordedSteps = 0
            maskedSteps = [Bool](repeating: false, count: steps)
            pendingBackward = nil
        }
        self.recording = recording
    }

    // MARK: One step

    /// One step: input B×in (row stride ldInput), state advanced in place, top layer's new h → output (B×H).
    /// training + dropout > 0: masks drawn from `dropoutRandom` exactly as RecurrentStack.step draws them
    /// (draw position + (k−1)·B·H + i for element i of layer k's input), computed on the device,
    /// and the sequence advanced by (depth−1)·B·H draws as on the CPU.
    public func step(input: DevicePointer, ldInput: Int? = nil, state: GPURecurrentState<T>, stepIndex: Int,
                     training: Bool, dropoutRandom: inout RandomSequence, output: DevicePointer) throws {
        precondition(scratch != nil, "beginSequence before step")
        precondition(state.batch == batch && state.depth == depth && state.hiddenSize == hiddenSize,
                     "state of batch \(state.batch) in a sequence of batch \(batch)")
        let tape: Tape, t: Int
        if recording {
            tape = self.tape!
            precondition(stepIndex >= 0 && stepIndex < maskedSteps.count,
                         "step \(stepIndex) beyond the \(maskedSteps.count) steps begun")
            t = stepIndex
        } else {
            tape = workTape!
            t = 0
        }
        let h = hiddenSize, bh = batch * hiddenSize
        let drawMasks = training && stack.dropout > 0 && depth > 1
        let firstDraw = dropoutRandom.position
        let threshold = Int64((stack.dropout * 0x1p53).rounded(.up))
        let keepScale = T(1 / (1 - stack.dropout))

        for (k, layer) in stack.layers.enumerated() {
            // The layer's input: layer 0 gathers the caller's rows onto the tape (the weight
            // gradient reads every step's inputs as one matrix); layer k ≥ 1 finds it on the
            // tape, written there by layer k − 1's kernel.
            var x = tape.field(k, .input, t), ldx = layer.inputSize
            if k == 0 {
                if recording {
                    try GPUProducts.copyRows(device, input, ldSource: ldInput ?? inputSize, to: x, ldDestination: inputSize,
                                             rows: batch, columns: inputSize, as: T.self)
                } else {
                    x = input
                    ldx = ldInput ?? inputSize
                }
            }
            let hiddenState = state.hidden(layer: k).pointer
            let top = k == depth - 1
            let emit: [KernelArgument] = [
                .nullable(top ? output : nil), .nullable(top ? nil : tape.field(k + 1, .input, t)),
                .nullable(!top && drawMasks && recording ? tape.field(k + 1, .mask, t) : nil),
                .int(hiddenSize), .int(!top && drawMasks ? 1 : 0),
                .int64(Int64(bitPattern: dropoutRandom.source.seed)), .int64(Int64(bitPattern: dropoutRandom.stream)),
                .int64(Int64(bitPattern: firstDraw &+ UInt64(k * bh))), .int64(threshold), .real(keepScale),
            ]
            let gates = tape.field(k, .cache, t)
            let recordedHidden: DevicePointer? = recording ? tape.field(k, .hiddenPrevious, t) : nil
            switch kind {
            case .lstm:
                try inputProducts(layer, x: x, ldx: ldx, hidden: hiddenState, into: gates, hiddenInto: nil)
                try launchCells("dnc_lstm_forward", [
                    .nullable(gates), .nullable(biasValues(layer.biasIH)), .nullable(biasValues(layer.biasHH)),
                    .nullable(hiddenState), .nullable(state.cell(layer: k)!.pointer),
                    .nullable(recording ? gates.advanced(elements: batch * 4 * h, T.self) : nil),
                    .nullable(gates.advanced(elements: batch * 5 * h, T.self)),
                    .nullable(recordedHidden), .nullable(recording ? tape.field(k, .cellPrevious, t) : nil),
                ] + emit)
            case .gru:
                let hiddenGates = scratch!.pointer
                try inputProducts(layer, x: x, ldx: ldx, hidden: hiddenState, into: gates, hiddenInto: hiddenGates)
                try launchCells("dnc_gru_forward", [
                    .nullable(gates), .nullable(hiddenGates), .nullable(biasValues(layer.biasIH)),
                    .nullable(biasValues(layer.biasHH)), .nullable(recording ? gates.advanced(elements: batch * 3 * h, T.self) : nil),
                    .nullable(hiddenState), .nullable(recordedHidden),
                ] + emit)
            case .rnn(let activation):
                try inputProducts(layer, x: x, ldx: ldx, hidden: hiddenState, into: gates, hiddenInto: nil)
                try launchCells("dnc_rnn_forward", [
                    .nullable(gates), .nullable(biasValues(layer.biasIH)), .nullable(biasValues(layer.biasHH)),
                    .int(activation == .relu ? 1 : 0), .nullable(hiddenState), .nullable(recordedHidden),
                ] + emit)
            }
        }
        if drawMasks {
            dropoutRandom = RandomSequence(source: dropoutRandom.source, stream: dropoutRandom.stream,
                                           position: firstDraw &+ UInt64((depth - 1) * bh))
        }
        if recording {
            maskedSteps[t] = drawMasks
            recordedSteps = Swift.max(recordedSteps, t + 1)
        }
    }

    /// gates (B×G) = x·W_ihᵀ + h·W_hhᵀ (one launch, one sum over in + H terms), or, with
    /// `hiddenInto`, x·W_ihᵀ into gates and h·W_hhᵀ apart (the GRU).
    private func inputProducts(_ layer: RecurrentLayer<T>, x: DevicePointer, ldx: Int, hidden: DevicePointer,
                               into gates: DevicePointer, hiddenInto: DevicePointer?) throws {
        let g = layer.kind.gateCount * layer.hiddenSize
        guard let hiddenInto else {
            try GPUProducts.sumOfProducts(device, transB: true, m: batch, n: g, k: layer.inputSize, a: x, lda: ldx,
                                          b: parameters.values(layer.weightIH).pointer, k2: hiddenSize, a2: hidden,
                                          b2: parameters.values(layer.weightHH).pointer, alpha: T(1), beta: T(0), c: gates)
            return
        }
        try GPUProducts.gemm(device, transB: true, m: batch, n: g, k: layer.inputSize, alpha: T(1), a: x, lda: ldx,
                             b: parameters.values(layer.weightIH).pointer, beta: T(0), c: gates)
        try GPUProducts.gemm(device, transB: true, m: batch, n: g, k: hiddenSize, alpha: T(1), a: hidden,
                             b: parameters.values(layer.weightHH).pointer, beta: T(0), c: hiddenInto)
    }

    // MARK: Backward

    /// Backward of step `stepIndex` (latest first): outputGradient B×H; stateGradient holds d/d(state after)
    /// and becomes d/d(state before); inputGradient B×in written (row stride ldInputGradient).
    public func backwardStep(stepIndex: Int, outputGradient: DevicePointer, stateGradient: GPURecurrentState<T>,
                             inputGradient: DevicePointer, ldInputGradient: Int? = nil) throws {
        guard let tape else { preconditionFailure("backwardStep without a recorded sequence") }
        precondition(stepIndex >= 0 && stepIndex < recordedSteps, "step \(stepIndex) is not on the tape (\(recordedSteps) steps)")
        precondition(stateGradient.batch == batch, "state gradient of batch \(stateGradient.batch) in a sequence of batch \(batch)")
        let t = stepIndex, h = hiddenSize, bh = batch * hiddenSize
        // The gradients handed from layer k to k − 1, alternating between two B×H buffers.
        let handed = [scratch!.element(3 * bh), scratch!.element(4 * bh)]
        var above = outputGradient
        var maskAbove: DevicePointer? = nil
        for k in stride(from: depth - 1, through: 0, by: -1) {
            let layer = stack.layers[k]
            let g = layer.kind.gateCount * layer.hiddenSize
            let dx = k == 0 ? inputGradient : handed[k % 2]
            let ldx = k == 0 ? (ldInputGradient ?? inputSize) : hiddenSize
            let dHidden = stateGradient.hidden(layer: k).pointer
            let cache = tape.field(k, .cache, t), dGates = tape.field(k, .dGates, t)
            var dGatesHidden = dGates
            switch kind {
            case .lstm:
                try launchCells("dnc_lstm_backward", [
                    .nullable(cache), .nullable(cache.advanced(elements: batch * 5 * h, T.self)),
                    .nullable(tape.field(k, .cellPrevious, t)), .nullable(above), .nullable(maskAbove), .nullable(dHidden),
                    .nullable(stateGradient.cell(layer: k)!.pointer), .nullable(dGates), .int(hiddenSize),
                ])
            case .gru:
                dGatesHidden = tape.field(k, .dGatesHidden, t)
                try launchCells("dnc_gru_backward", [
                    .nullable(cache), .nullable(cache.advanced(elements: batch * 3 * h, T.self)),
                    .nullable(tape.field(k, .hiddenPrevious, t)), .nullable(above), .nullable(maskAbove), .nullable(dHidden),
                    .nullable(dGates), .nullable(dGatesHidden), .int(hiddenSize),
                ])
            case .rnn(let activation):
                try launchCells("dnc_rnn_backward", [
                    .nullable(cache), .nullable(above), .nullable(maskAbove), .nullable(dHidden), .nullable(dGates),
                    .int(activation == .relu ? 1 : 0), .int(hiddenSize),
                ])
            }
            // dx = dZ·W_ih; dh_prev = dZ_h·W_hh (added to the GRU's direct path z⊙dh', which its kernel wrote).
            try GPUProducts.gemm(device, m: batch, n: layer.inputSize, k: g, alpha: T(1), a: dGates,
                                 b: parameters.values(layer.weightIH).pointer, beta: T(0), c: dx, ldc: ldx)
            try GPUProducts.gemm(device, m: batch, n: hiddenSize, k: g, alpha: T(1), a: dGatesHidden,
                                 b: parameters.values(layer.weightHH).pointer, beta: kind == .gru ? T(1) : T(0), c: dHidden)
            above = dx
            maskAbove = k > 0 && maskedSteps[t] ? tape.field(k, .mask, t) : nil
        }
        pendingBackward = pendingBackward.map { Swift.min($0.lowerBound, t)...Swift.max($0.upperBound, t) } ?? t...t
        if t == 0 { try accumulatePendingWeightGradients() }
    }

    /// Folds the gate gradients of the steps the backward went through into the weight
    /// gradients: per weight one product over all those steps' rows (consecutive on the tape).
    private func accumulatePendingWeightGradients() throws {
        guard let pending = pendingBackward, let tape else { return }
        pendingBackward = nil
        let rows = batch * pending.count, first = pending.lowerBound
        for (k, layer) in stack.layers.enumerated() {
            let g = layer.kind.gateCount * layer.hiddenSize
            let dGates = tape.field(k, .dGates, first)
            let dGatesHidden = kind == .gru ? tape.field(k, .dGatesHidden, first) : dGates
            try GPUProducts.gemm(device, transA: true, m: g, n: layer.inputSize, k: rows, alpha: T(1), a: dGates,
                                 b: tape.field(k, .input, first), beta: T(1), c: parameters.gradients(layer.weightIH).pointer)
            try GPUProducts.gemm(device, transA: true, m: g, n: hiddenSize, k: rows, alpha: T(1), a: dGatesHidden,
                                 b: tape.field(k, .hiddenPrevious, first), beta: T(1),
                                 c: parameters.gradients(layer.weightHH).pointer)
            if let bias = layer.biasIH {
                try GPUProducts.accumulateColumnSums(device, dGates, rows: rows, columns: g,
                                                     into: parameters.gradients(bias).pointer, as: T.self)
            }
            if let bias = layer.biasHH {
                try GPUProducts.accumulateColumnSums(device, dGatesHidden, rows: rows, columns: g,
                                                     into: parameters.gradients(bias).pointer, as: T.self)
            }
        }
    }

    // MARK: Launch helpers

    private func biasValues(_ slot: ParameterSlot?) -> DevicePointer? { slot.map { parameters.values($0).pointer } }

    /// An element-wise cell kernel over B×H: grid (⌈H / threads⌉, B).
    private func launchCells(_ kernel: String, _ arguments: [KernelArgument]) throws {
        let threads = GPUProducts.threads(for: hiddenSize)
        try device.launch(KernelPrecision.of(T.self).kernelName(kernel), grid: ((hiddenSize + threads - 1) / threads, batch),
                          threads: threads, sharedBytes: 0, arguments)
    }

    // MARK: The tape

    /// What each layer keeps per step (B rows each), as RecurrentStack.Field: its input x (in_k),
    /// h_prev (H), c_prev (H, LSTM), the cell cache (LSTM: activated gates 4H, c' H, tanh c' H;
    /// GRU: r, z, n 3H then W_hn h + b_hn H; RNN: h' H), the dropout mask applied to x (H, k ≥ 1
    /// with dropout), the gate gradients (G) and the GRU's hidden-side gate gradients (G).
    enum Field: Int, CaseIterable { case input, hiddenPrevious, cellPrevious, cache, mask, dGates, dGatesHidden }

    /// One device buffer holding every field of every layer for `capacity` steps: field (k, f)
    /// is a region of capacity × (its size per step), step t at t × size, so the rows of
    /// consecutive steps are consecutive (the weight gradients are one product over them).
    final class Tape {
        let device: any KernelDevice
        let capacity: Int
        let buffer: DeviceArray<T>
        private let offsets: [[Int]]
        private let sizes: [[Int]]

        init(stack owner: GPURecurrentStack<T>, batch: Int, capacity: Int) throws {
            let stack = owner.stack
            let h = stack.hiddenSize
            let cacheWidth: Int
            switch stack.kind { case .lstm: cacheWidth = 6; case .gru: cacheWidth = 4; case .rnn: cacheWidth = 1 }
            sizes = stack.layers.enumerated().map { (k, layer) in
                Field.allCases.map { field -> Int in
                    switch field {
                    case .input: batch * layer.inputSize
                    case .hiddenPrevious: batch * h
                    case .cellPrevious: stack.kind.hasCellState ? batch * h : 0
                    case .cache: batch * h * cacheWidth
                    case .mask: k > 0 && stack.dropout > 0 ? batch * h : 0
                    case .dGates: batch * layer.kind.gateCount * layer.hiddenSize
                    case .dGatesHidden: stack.kind == .gru ? batch * layer.kind.gateCount * layer.hiddenSize : 0
                    }
                }
            }
            var offset = 0
            offsets = sizes.map { layer in
                layer.map { size in
                    defer { offset += size * capacity }
                    return offset
                }
            }
            device = owner.device
            self.capacity = capacity
            buffer = try owner.device.zeros(T.self, count: offset)
        }

        deinit { device.free(buffer) }

        func field(_ layer: Int, _ field: Field, _ step: Int) -> DevicePointer {
            buffer.element(offsets[layer][field.rawValue] + step * sizes[layer][field.rawValue])
        }
    }
}

extension DevicePointer {
    /// The address `elements` elements of `T` further.
    fileprivate func advanced<T>(elements: Int, _: T.Type) -> DevicePointer { advanced(byBytes: elements * MemoryLayout<T>.stride) }
}

extension KernelArgument {
    /// A pointer argument, null for nil (the cell kernels skip null outputs).
    fileprivate static func nullable(_ pointer: DevicePointer?) -> KernelArgument { .pointer(pointer ?? DevicePointer(address: 0)) }
}

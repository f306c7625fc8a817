import DNCNumerics
import DNCLayers
import DNCMemories

extension DNC {
    /// The result of a forward call.
    public struct Output: Sendable {
        /// (B, T, Y) or (T, B, Y): the input's layout (`.paper`), or the other one
        /// (`.pytorchCompat`); see `outputIsTimeMajor`.
        public var output: Tensor<T>
        public var state: DNCState<T>
        /// With `debug: true`.
        public var trace: DNCTrace<T>?
    }

    /// What one forward call fixes for all its steps.
    struct ForwardCall {
        let batch: Int, steps: Int
        let training: Bool, recording: Bool, passThroughMemory: Bool
        let debugBatchElement: Int?
        let allocationOrder: ((_ step: Int, _ layer: Int) -> [[Int]]?)?
        let tape: DNCTape<T>
        let scratch: Scratch<T>
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
    ///   per-sample free-list orders, or nil for the default stable sort (dense memory).
    /// - `tape`: where to record for `backward` (default: `defaultTape`). Give each chunk of a
    ///   long stream its own tape to backpropagate through several calls (untruncated BPTT).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ input: Tensor<T>, state initial: DNCState<T>? = nil, resetExperience: Bool = false,
                        passThroughMemory: Bool = true, lengths: [Int]? = nil, training: Bool = false,
                        recordForBackward: Bool = true, debug: Bool = false, debugBatchElement: Int = 0,
                        allocationOrder: ((_ step: Int, _ layer: Int) -> [[Int]]?)? = nil,
                        tape recordTape: DNCTape<T>? = nil) -> Output {
        let c = configuration
        let (batch, steps) = checkedSizes(of: input, lengths: lengths, debugBatchElement: debug ? debugBatchElement : nil)
        let call = ForwardCall(batch: batch, steps: steps, training: training, recording: recordForBackward,
                               passThroughMemory: passThroughMemory, debugBatchElement: debug ? debugBatchElement : nil,
                               allocationOrder: allocationOrder, tape: recordTape ?? defaultTape,
                               scratch: Scratch<T>(batch: batch, configuration: c))
        var state = initial ?? freshState(batch: batch)
        precondition(state.batch == batch, "state is for batch \(state.batch), input has batch \(batch)")
        beginSequence(call, state: &state, lengths: lengths, reset: resetExperience, fresh: initial == nil)

        var result = Tensor<T>(shape: outputIsTimeMajor ? [steps, batch, c.resolvedOutputSize] : [batch, steps, c.resolvedOutputSize])
        var trace = debug ? DNCTrace<T>(batchElement: debugBatchElement) : nil
        // The per-step products use copies of the weights (`WeightCopies`), refreshed for this call.
        for weights in weightCopies { weights.activate(store: store) }
        defer { for weights in weightCopies { weights.deactivate() } }
        call.tape.weightCopyGenerations = weightCopies.map(\.generation)

        var currentRead = state.lastRead
        for t in 0..<steps {
            let active = call.tape.model.active(step: t)
            packControllerInput(call, input: input, step: t, reads: c.preset == .paper ? currentRead : call.tape.model.initialLastRead)
            var stepTrace: [MemoryTraceRecord<T>] = []
            for layer in 0..<c.layerCount {
                if let record = layerForward(call, step: t, layer: layer, active: active, state: &state) { stepTrace.append(record) }
            }
            keepLastRead(call, active: active, into: &currentRead)
            if debug { trace!.records.append(stepTrace) }
            outputForward(call, step: t, active: active, into: &result)
        }
        state.lastRead = currentRead
        return Output(output: result, state: state, trace: trace)
    }

    /// (B, T) of `input`, after checking it, the lengths and the debug sample.
    private func checkedSizes(of input: Tensor<T>, lengths: [Int]?, debugBatchElement: Int?) -> (batch: Int, steps: Int) {
        let c = configuration
        precondition(input.rank == 3 && input.shape[2] == c.inputSize,
                     "DNC input has shape \(input.shape); expected \(c.batchFirst ? "(B, T, \(c.inputSize))" : "(T, B, \(c.inputSize))")")
        let batch = c.batchFirst ? input.shape[0] : input.shape[1]
        let steps = c.batchFirst ? input.shape[1] : input.shape[0]
        if let lengths {
            precondition(lengths.count == batch && lengths.allSatisfy { $0 >= 0 && $0 <= steps },
                         "lengths \(lengths) must give one length in 0...\(steps) per sample (\(batch))")
        }
        if let b = debugBatchElement {
            precondition(b >= 0 && b < batch, "debug batch element \(b) is not in 0..<\(batch)")
        }
        return (batch, steps)
    }

    /// Starts the call on every tape and memory; a reset empties the memory and read vector.
    private func beginSequence(_ call: ForwardCall, state: inout DNCState<T>, lengths: [Int]?, reset: Bool, fresh: Bool) {
        let c = configuration
        // A memory shared by the layers steps once per layer and time step.
        let memorySteps = call.steps * (c.shareMemoryBetweenLayers ? c.layerCount : 1)
        for (k, memory) in memories.enumerated() {
            memory.erasedBeginSequence(state: &state.memories[k], tape: call.tape.memories[k], steps: memorySteps,
                                       recording: call.recording, reset: reset, fresh: fresh,
                                       changesMemory: call.passThroughMemory)
        }
        if reset { state.lastRead = Tensor(shape: [call.batch, c.readWidth]) }
        call.tape.model.begin(layout: ModelTape<T>.Layout(configuration: c, batch: call.batch), steps: call.steps,
                              recording: call.recording, lengths: lengths, passThroughMemory: call.passThroughMemory,
                              resetExperience: reset, initialLastRead: state.lastRead)
        for t in call.tape.controllers { t.reset() }
    }

    /// Layer 0's controller input χ⁰ = [x_t ; read vector] in step t's record: the previous
    /// step's read vector (paper) or the one passed in (pytorch-dnc).
    private func packControllerInput(_ call: ForwardCall, input: Tensor<T>, step t: Int, reads: Tensor<T>) {
        let c = configuration, x = c.inputSize, rw = c.readWidth
        let layout = call.tape.model.layout!
        let chi0 = call.tape.model.record(t) + layout.chi[0]
        input.withUnsafeBufferPointer { xs in
            reads.withUnsafeBufferPointer { r in
                for b in 0..<call.batch {
                    let source = sequenceOffset(sample: b, step: t, batch: call.batch, steps: call.steps, batchFirst: c.batchFirst) * x
                    (chi0 + b * layout.chiWidth[0]).update(from: xs.baseAddress! + source, count: x)
                    (chi0 + b * layout.chiWidth[0] + x).update(from: r.baseAddress! + b * rw, count: rw)
                }
            }
        }
    }

    /// One DNC layer at step t: the controller on χˡ, its clamped output o through the memory,
    /// and [o ; read vectors] as the next layer's input χˡ⁺¹. Returns the memory step's debug
    /// record when the call records one.
    private func layerForward(_ call: ForwardCall, step t: Int, layer: Int, active: [Bool]?,
                              state: inout DNCState<T>) -> MemoryTraceRecord<T>? {
        let c = configuration, h = c.hiddenSize, rw = c.readWidth, batch = call.batch
        let layout = call.tape.model.layout!, record = call.tape.model.record(t)
        let hidden = record + layout.hidden[layer]
        let frozen = active.flatMap { RecurrentRows(saving: state.controllers[layer], inactive: $0) }
        controllers[layer].step(input: record + layout.chi[layer], batch: batch, state: &state.controllers[layer],
                                tape: call.recording ? call.tape.controllers[layer] : nil, training: call.training,
                                dropoutRandom: &dropoutRandom, output: hidden)
        frozen?.restore(into: &state.controllers[layer])
        // o = clamp(h) goes to the memory and, with the read vectors, to the next layer.
        let o = call.scratch.controllerOutput, reads = call.scratch.reads
        if c.controllerOutputClip > 0 {
            Kernels.clamp(hidden, o, count: batch * h, limit: T(c.controllerOutputClip))
        } else {
            o.update(from: hidden, count: batch * h)
        }
        var traceRecord: MemoryTraceRecord<T>?
        if call.passThroughMemory {
            let k = memoryIndex(layer: layer)
            let outer = ProductAccounting.enter(.memory); defer { ProductAccounting.leave(outer) }
            memories[k].erasedStep(input: o, batch: batch, state: &state.memories[k],
                                   tape: call.recording ? call.tape.memories[k] : nil, active: active,
                                   allocationOrder: call.allocationOrder?(t, layer), readVectors: reads)
            if let b = call.debugBatchElement {
                traceRecord = memories[k].lastStepTrace(batchElement: b, memoryWindow: debugMemoryWindow)
            }
        } else {
            Kernels.fill(reads, count: batch * rw, with: 0)
        }
        let next = record + layout.chi[layer + 1]
        for b in 0..<batch {
            (next + b * (h + rw)).update(from: o + b * h, count: h)
            (next + b * (h + rw) + h).update(from: reads + b * rw, count: rw)
        }
        return traceRecord
    }

    /// The read vector carried to the next step: the last layer's, for the active samples.
    private func keepLastRead(_ call: ForwardCall, active: [Bool]?, into currentRead: inout Tensor<T>) {
        let rw = configuration.readWidth, reads = call.scratch.reads
        currentRead.withUnsafeMutableBufferPointer { current in
            for b in 0..<call.batch where active?[b] ?? true {
                (current.baseAddress! + b * rw).update(from: reads + b * rw, count: rw)
            }
        }
    }

    /// y_t = W_out [o ; r] + b, zero for finished samples, into the output's step t.
    private func outputForward(_ call: ForwardCall, step t: Int, active: [Bool]?, into result: inout Tensor<T>) {
        let c = configuration, y = c.resolvedOutputSize
        let outputRows = call.scratch.outputRows
        let outer = ProductAccounting.enter(.output); defer { ProductAccounting.leave(outer) }
        output.forward(store: store, input: call.tape.model.record(t) + call.tape.model.layout!.chi[c.layerCount],
                       rows: call.batch, output: outputRows)
        let timeMajor = outputIsTimeMajor
        result.withUnsafeMutableBufferPointer { out in
            for b in 0..<call.batch {
                let target = out.baseAddress! + sequenceOffset(sample: b, step: t, batch: call.batch, steps: call.steps,
                                                               batchFirst: !timeMajor) * y
                if active?[b] ?? true { target.update(from: outputRows + b * y, count: y) } else { Kernels.fill(target, count: y, with: 0) }
            }
        }
    }
}

import DNCNumerics
import DNCLayers
import DNCMemories

extension DNC {
    /// Gradients of a backward call that are not parameters.
    public struct Gradients: Sendable {
        /// d loss / d input, in the input's layout.
        public var input: Tensor<T>
        /// d loss / d initial state (zero memory part after `resetExperience`). Pass it as
        /// `finalStateGradient` to the backward of the previous call (recorded on its own tape)
        /// to backpropagate through both.
        public var initialState: DNCState<T>
    }

    /// What one backward call fixes for all its steps.
    struct BackwardCall {
        let batch: Int, steps: Int
        let tape: DNCTape<T>
        let scratch: Scratch<T>
    }

    /// Backpropagation through the `forward` recorded on `tape` (default: the last call without a
    /// tape of its own). `outputGradient` has the output's layout; `finalStateGradient`
    /// (optional) is d loss / d returned state. Parameter gradients accumulate into `store.gradients`.
    ///
    /// A memory changed in place (SAM, SDNC) is rolled back step by step and then put back at
    /// the end of the calls made so far, so backward calls may come in any order after the
    /// forwards; a backward through an earlier call first undoes the later calls' logs (O(their
    /// steps), no search). That needs every call since on the same state recorded on its own
    /// tape, with no `resetExperience`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(outputGradient: Tensor<T>, finalStateGradient: DNCState<T>? = nil,
                         tape recordTape: DNCTape<T>? = nil) -> Gradients {
        let c = configuration
        let modelTape = recordTape ?? defaultTape
        let tape = modelTape.model
        precondition(tape.recording && tape.layout != nil, "backward needs a forward with recordForBackward: true on this tape")
        let batch = tape.layout!.batch, steps = tape.steps, rw = c.readWidth
        precondition(outputGradient.shape == (outputIsTimeMajor ? [steps, batch, c.resolvedOutputSize] : [batch, steps, c.resolvedOutputSize]),
                     "output gradient has shape \(outputGradient.shape), expected the output's")
        let call = BackwardCall(batch: batch, steps: steps, tape: modelTape, scratch: Scratch<T>(batch: batch, configuration: c))
        var stateGradient = startingStateGradient(finalStateGradient, batch: batch)
        if tape.passThroughMemory {
            for (k, memory) in memories.enumerated() { memory.erasedBeginBackward(tape: modelTape.memories[k]) }
        }
        var inputGradient = Tensor<T>(shape: c.batchFirst ? [batch, steps, c.inputSize] : [steps, batch, c.inputSize])
        var initialReadGradient = Tensor<T>(shape: [batch, rw])
        // The forward's copies of the weights, unless another forward refreshed them.
        for (k, weights) in weightCopies.enumerated() {
            weights.activate(store: store, keeping: modelTape.weightCopyGenerations.count == weightCopies.count
                                 ? modelTape.weightCopyGenerations[k] : nil)
        }
        defer { for weights in weightCopies { weights.deactivate() } }

        for t in stride(from: steps - 1, through: 0, by: -1) {
            let active = tape.active(step: t)
            var dUpper = outputBackward(call, step: t, active: active, outputGradient: outputGradient, carriedRead: &stateGradient.lastRead)
            for layer in stride(from: c.layerCount - 1, through: 0, by: -1) {
                let dChi = layerBackward(call, step: t, layer: layer, active: active, dUpper: dUpper, stateGradient: &stateGradient)
                if layer > 0 {
                    dUpper = dChi
                } else if c.preset == .paper {
                    controllerInputBackward(call, step: t, dChi: dChi, inputGradient: &inputGradient, readGradient: &stateGradient.lastRead)
                } else {
                    controllerInputBackward(call, step: t, dChi: dChi, inputGradient: &inputGradient, readGradient: &initialReadGradient)
                }
            }
        }
        for i in 0..<initialReadGradient.count { stateGradient.lastRead[flat: i] += initialReadGradient[flat: i] }
        if tape.passThroughMemory {
            for (k, memory) in memories.enumerated() { memory.erasedEndBackward(tape: modelTape.memories[k]) }
        }
        if tape.resetExperience {
            // A reset cuts the gradient into the memory and read vector that came before it.
            stateGradient.memories = memories.map { $0.erasedZeroStateGradient(batch: batch) }
            stateGradient.lastRead = Tensor(shape: [batch, rw])
        }
        return Gradients(input: inputGradient, initialState: stateGradient)
    }

    /// d loss / d final state: the one given (its memory part zero when it has none), or zero.
    private func startingStateGradient(_ given: DNCState<T>?, batch: Int) -> DNCState<T> {
        // Zero memory gradients only where none is given (a dense one is B×N×N).
        func zeroMemories() -> [any MemoryStateValue<T>] { memories.map { $0.erasedZeroStateGradient(batch: batch) } }
        guard var gradient = given else {
            return DNCState(controllers: controllers.map { $0.zeroState(batch: batch) }, memories: zeroMemories(),
                            lastRead: Tensor(shape: [batch, configuration.readWidth]))
        }
        if gradient.memories.isEmpty { gradient.memories = zeroMemories() }
        precondition(gradient.memories.count == memories.count
                         && zip(memories, gradient.memories).allSatisfy { $0.acceptsStateGradient($1, batch: batch) },
                     "the final state gradient's memory gradients do not match this model and batch")
        return gradient
    }

    /// Backward of step t's output layer: returns d[o ; r] of the last layer (B × (H + R·W)) and
    /// moves the gradient carried in `carriedRead` for the active samples into its read part
    /// (the carried read vector after step t is step t's last-layer read).
    private func outputBackward(_ call: BackwardCall, step t: Int, active: [Bool]?, outputGradient: Tensor<T>,
                                carriedRead: inout Tensor<T>) -> UnsafeMutablePointer<T> {
        let c = configuration, y = c.resolvedOutputSize, h = c.hiddenSize, rw = c.readWidth
        let dy = call.scratch.outputRows, timeMajor = outputIsTimeMajor
        outputGradient.withUnsafeBufferPointer { g in
            for b in 0..<call.batch {
                let source = g.baseAddress! + sequenceOffset(sample: b, step: t, batch: call.batch, steps: call.steps,
                                                             batchFirst: !timeMajor) * y
                if active?[b] ?? true { (dy + b * y).update(from: source, count: y) } else { Kernels.fill(dy + b * y, count: y, with: 0) }
            }
        }
        let dUpper = call.scratch.dUpper
        let outer = ProductAccounting.enter(.output); defer { ProductAccounting.leave(outer) }
        output.backward(store: store, input: call.tape.model.record(t) + call.tape.model.layout!.chi[c.layerCount], outputGradient: dy,
                        rows: call.batch, inputGradient: dUpper)
        carriedRead.withUnsafeMutableBufferPointer { carry in
            for b in 0..<call.batch where active?[b] ?? true {
                Kernels.axpy(rw, alpha: 1, carry.baseAddress! + b * rw, dUpper + b * (h + rw) + h)
                Kernels.fill(carry.baseAddress! + b * rw, count: rw, with: 0)
            }
        }
        return dUpper
    }

    /// Backward of one DNC layer at step t, given d[o ; r] (`dUpper`): through the memory step,
    /// the clamp and the controller. Returns d χˡ (B × width of χˡ).
    private func layerBackward(_ call: BackwardCall, step t: Int, layer: Int, active: [Bool]?, dUpper: UnsafeMutablePointer<T>,
                               stateGradient: inout DNCState<T>) -> UnsafeMutablePointer<T> {
        let c = configuration, h = c.hiddenSize, rw = c.readWidth, batch = call.batch
        let dO = call.scratch.controllerOutput, dReads = call.scratch.reads
        for b in 0..<batch {
            (dO + b * h).update(from: dUpper + b * (h + rw), count: h)
            (dReads + b * rw).update(from: dUpper + b * (h + rw) + h, count: rw)
        }
        if call.tape.model.passThroughMemory {
            let k = memoryIndex(layer: layer)
            let stepIndex = c.shareMemoryBetweenLayers ? t * c.layerCount + layer : t
            let dMemoryInput = call.scratch.memoryInputGradient
            let outer = ProductAccounting.enter(.memory); defer { ProductAccounting.leave(outer) }
            memories[k].erasedBackwardStep(tape: call.tape.memories[k], stepIndex: stepIndex, readVectorsGradient: dReads,
                                           stateGradient: &stateGradient.memories[k], inputGradient: dMemoryInput)
            Kernels.axpy(batch * h, alpha: 1, dMemoryInput, dO)
        }
        // Through the clamp: the gradient passes where −clip ≤ h ≤ clip.
        let hidden = call.tape.model.record(t) + call.tape.model.layout!.hidden[layer]
        if c.controllerOutputClip > 0 {
            let limit = T(c.controllerOutputClip)
            for i in 0..<(batch * h) where hidden[i] < -limit || hidden[i] > limit { dO[i] = 0 }
        }
        let frozen = active.flatMap { RecurrentRows(saving: stateGradient.controllers[layer], inactive: $0) }
        if let frozen { frozen.zero(in: &stateGradient.controllers[layer]); frozen.zeroRows(dO, width: h) }
        let dChi = call.scratch.dChi(layer)
        controllers[layer].backwardStep(tape: call.tape.controllers[layer], stepIndex: t, outputGradient: dO,
                                        stateGradient: &stateGradient.controllers[layer], inputGradient: dChi)
        frozen?.restore(into: &stateGradient.controllers[layer])
        return dChi
    }

    /// Splits d χ⁰ at step t into d x_t (into `inputGradient`) and the read vector's part, added
    /// to `readGradient`: the carried read (paper) or the initial one passed in (pytorch-dnc).
    private func controllerInputBackward(_ call: BackwardCall, step t: Int, dChi: UnsafeMutablePointer<T>,
                                         inputGradient: inout Tensor<T>, readGradient: inout Tensor<T>) {
        let c = configuration, x = c.inputSize, rw = c.readWidth
        let width = call.tape.model.layout!.chiWidth[0]
        inputGradient.withUnsafeMutableBufferPointer { dx in
            for b in 0..<call.batch {
                let target = sequenceOffset(sample: b, step: t, batch: call.batch, steps: call.steps, batchFirst: c.batchFirst) * x
                (dx.baseAddress! + target).update(from: dChi + b * width, count: x)
            }
        }
        readGradient.withUnsafeMutableBufferPointer { g in
            for b in 0..<call.batch { Kernels.axpy(rw, alpha: 1, dChi + b * width + x, g.baseAddress! + b * rw) }
        }
    }
}

import DNCGPU
import DNCLayers
import DNCMemories
import DNCModels
import DNCNumerics

extension GPUDNC {
    /// What a backward call works in: d[o ; r] of the layer above, the per-layer d χˡ, the
    /// output rows' gradient, d o, d reads, d ẑ, and the gradient of the state (kept across calls
    /// of the same batch and zeroed per call).
    final class BackwardScratch {
        let batch: Int
        let outputRows: DeviceArray<T>       // B×Y
        let upper: DeviceArray<T>            // B×(H+R·W)
        let chiGradients: [DeviceArray<T>]   // per layer B×width(χˡ)
        let controllerOutput: DeviceArray<T> // B×H
        let reads: DeviceArray<T>            // B×R·W
        let interface: DeviceArray<T>        // B×S
        let initialRead: DeviceArray<T>      // B×R·W (pytorch-dnc's read vector fed to every step)
        let state: GPUDNC.State
        let buffers: [DeviceArray<T>]
        init(batch: Int, outputRows: DeviceArray<T>, upper: DeviceArray<T>, chiGradients: [DeviceArray<T>], controllerOutput: DeviceArray<T>,
             reads: DeviceArray<T>, interface: DeviceArray<T>, initialRead: DeviceArray<T>, state: GPUDNC.State) {
            self.batch = batch; self.outputRows = outputRows; self.upper = upper; self.chiGradients = chiGradients
            self.controllerOutput = controllerOutput; self.reads = reads; self.interface = interface; self.initialRead = initialRead
            self.state = state
            buffers = [outputRows, upper, controllerOutput, reads, interface, initialRead] + chiGradients
        }
    }

    func makeBackwardScratch(batch: Int) throws -> BackwardScratch {
        let c = configuration, h = c.hiddenSize, rw = c.readWidth
        let widths = (0..<c.layerCount).map { ($0 == 0 ? c.inputSize : h) + rw }
        return BackwardScratch(batch: batch, outputRows: try device.zeros(T.self, count: batch * c.resolvedOutputSize),
                               upper: try device.zeros(T.self, count: batch * (h + rw)),
                               chiGradients: try widths.map { try device.zeros(T.self, count: batch * $0) },
                               controllerOutput: try device.zeros(T.self, count: batch * h),
                               reads: try device.zeros(T.self, count: batch * rw),
                               interface: try device.zeros(T.self, count: batch * (memories.map(\.interfaceSize).max() ?? 0)),
                               initialRead: try device.zeros(T.self, count: batch * rw),
                               state: try zeroState(batch: batch))
    }

    /// Backpropagation through the last `forward`: `outputGradient` is d loss / d output (T×B×Y,
    /// time-major, on the device). Parameter gradients accumulate into `parameters.gradients`.
    /// Returns d loss / d the state the call started from (the scratch's state: valid until the
    /// next backward).
    @discardableResult
    public func backward(outputGradient: DeviceArray<T>) throws -> State {
        guard let record = currentRecord, record.recording else { preconditionFailure("GPUDNC.backward needs a forward with recording") }
        let c = configuration, h = c.hiddenSize, rw = c.readWidth, y = c.resolvedOutputSize, batch = record.batch
        precondition(outputGradient.count == record.steps * batch * y, "output gradient of \(outputGradient.count) values, expected T·B·Y")
        let work = try backwardScratch(batch: batch)
        try resetGradient(work.state)
        try device.zero(work.initialRead)
        let elementBytes = MemoryLayout<T>.stride
        for t in stride(from: record.steps - 1, through: 0, by: -1) {
            let active = record.active(step: t)
            // The output layer: d[o ; r] of the last layer, plus the carried read's gradient.
            try rows.copyRows(outputGradient.element(t * batch * y), ld: y, to: work.outputRows.pointer, ld: y, rows: batch, columns: y,
                              active: active, batch: batch)
            let lastWidth = record.chiWidth[c.layerCount]
            try output.backward(input: record.chi(c.layerCount, step: t), outputGradient: work.outputRows.pointer, rows: batch,
                                inputGradient: work.upper.pointer, ldInput: lastWidth)
            try rows.moveActiveRows(work.state.lastRead.pointer, ld: rw, into: work.upper.pointer.advanced(byBytes: h * elementBytes), ld: h + rw,
                                    rows: batch, columns: rw, active: active, batch: batch)
            var upper = work.upper.pointer
            for layer in stride(from: c.layerCount - 1, through: 0, by: -1) {
                let dChi = try layerBackward(record, work: work, step: t, layer: layer, active: active, upper: upper)
                if layer > 0 {
                    upper = dChi
                } else {
                    // d χ⁰'s read part: the carried read (paper) or the call's initial one (pytorch-dnc).
                    let target = c.preset == .paper ? work.state.lastRead : work.initialRead
                    try rows.addRows(dChi.advanced(byBytes: c.inputSize * elementBytes), ld: record.chiWidth[0], to: target.pointer, ld: rw,
                                     rows: batch, columns: rw)
                }
            }
        }
        if c.preset != .paper {
            try rows.addRows(work.initialRead.pointer, ld: rw, to: work.state.lastRead.pointer, ld: rw, rows: batch, columns: rw)
        }
        return work.state
    }

    /// Backward of one DNC layer at step t from d[o ; r] (`upper`, B×(H+R·W)): the memory step,
    /// the interface projection (its input gradient added to d o), the clamp, the controller.
    /// Returns d χˡ (B×width(χˡ)).
    private func layerBackward(_ record: CallRecord, work: BackwardScratch, step t: Int, layer: Int, active: DeviceArray<Int32>?,
                               upper: DevicePointer) throws -> DevicePointer {
        let c = configuration, h = c.hiddenSize, rw = c.readWidth, batch = record.batch, elementBytes = MemoryLayout<T>.stride
        let dO = work.controllerOutput
        try rows.copyRows(upper, ld: h + rw, to: dO.pointer, ld: h, rows: batch, columns: h)
        try rows.copyRows(upper.advanced(byBytes: h * elementBytes), ld: h + rw, to: work.reads.pointer, ld: rw, rows: batch, columns: rw)
        let k = (c.shareMemoryBetweenLayers ? 0 : layer)
        let memory = memories[k], s = memory.interfaceSize
        let stepIndex = c.shareMemoryBetweenLayers ? t * c.layerCount + layer : t
        try memory.backwardStep(stepIndex: stepIndex, readVectorsGradient: work.reads.pointer, stateGradient: work.state.memories[k],
                                interfaceGradient: work.interface.pointer, active: active)
        let o = record.chi(layer + 1, step: t), oWidth = record.chiWidth[layer + 1]
        for block in interfaces[k] {
            try block.linear.backward(input: o, outputGradient: work.interface.element(block.column), rows: batch, inputGradient: dO.pointer,
                                      accumulateInput: true, ldInput: oWidth, ldOutputGradient: s)
        }
        try rows.clampRowsBackward(hidden: record.hidden(layer, step: t, width: h), ld: h, gradient: dO.pointer, ld: h, rows: batch,
                                   columns: h, limit: T(c.controllerOutputClip))
        let controllerGradient = work.state.controllers[layer]
        if let active {
            // A frozen sample's state gradient passes the step unchanged, and its output has none.
            try saveControllerState(controllerGradient, record: record)
            try zeroInactive(controllerGradient, active: active, batch: batch)
            try rows.zeroInactiveRows(dO.pointer, ld: h, rows: batch, columns: h, active: active, batch: batch)
        }
        let dChi = work.chiGradients[layer]
        try controllers[layer].backwardStep(stepIndex: t, outputGradient: dO.pointer, stateGradient: controllerGradient,
                                            inputGradient: dChi.pointer, ldInputGradient: record.chiWidth[layer])
        if let active { try restoreControllerState(controllerGradient, record: record, active: active) }
        return dChi.pointer
    }

    private func zeroInactive(_ state: GPURecurrentState<T>, active: DeviceArray<Int32>, batch: Int) throws {
        let h = configuration.hiddenSize, rowCount = state.hidden.count / h
        try rows.zeroInactiveRows(state.hidden.pointer, ld: h, rows: rowCount, columns: h, active: active, batch: batch)
        if let cell = state.cell { try rows.zeroInactiveRows(cell.pointer, ld: h, rows: rowCount, columns: h, active: active, batch: batch) }
    }
}

import DNCGPU
import DNCLayers
import DNCMemories
import DNCModels
import DNCNumerics

/// The dense DNC on a `KernelDevice`: the CPU model's (`DNC`) loop over time and layers, with
/// every operation a kernel launch on device buffers, so that a GPU rank trains without moving
/// anything per time step (issue #14; docs/gpu-kernels.md, "The GPU model").
///
/// It mirrors `DNC.forward`/`DNC.backward` (Sources/Models/DNC+Forward.swift, DNC+Backward.swift)
/// step for step and reads and writes the same parameters, in the same flat layout
/// (`DeviceParameters`), so a checkpoint is the CPU model's. Per DNC layer and step: the
/// controller stack (`GPURecurrentStack`), the clamp of its output o, the interface projection
/// (one product per interface linear), the memory step (`GPUDenseMemory`), [o ; reads] as the
/// next layer's input χ; the output layer on the last χ. The backward runs the same in reverse.
///
/// Sizes: B batch, T steps, X input, H hidden, R·W read width, S interface width, Y output.
/// Sequences are time-major (T, B, X) in and (T, B, Y) out on the device, the trainer's layout.
public final class GPUDNC<T: Real>: @unchecked Sendable {
    public let model: DNC<T>
    public let device: any KernelDevice
    public let parameters: DeviceParameters<T>
    let controllers: [GPURecurrentStack<T>]
    let memories: [GPUDenseMemory<T>]
    /// Per memory: its interface linears and their columns in ẑ.
    let interfaces: [[(linear: GPULinear<T>, column: Int)]]
    let output: GPULinear<T>
    let rows: GPURowKernels<T>

    /// Why `model` cannot run on the GPU (one line), or nil.
    public static func unsupportedReason(_ model: DNC<T>) -> String? {
        let c = model.configuration
        guard case .dense = c.memoryKind else {
            return "the GPU back end runs the dense DNC only (memory_type \(c.memoryKind.name) runs on the CPU)"
        }
        for memory in model.memories {
            if let dense = memory as? DenseMemory<T>, let reason = GPUDenseMemory<T>.unsupportedReason(dense) { return reason }
        }
        return nil
    }

    public init(_ model: DNC<T>, device: any KernelDevice) throws {
        if let reason = Self.unsupportedReason(model) { throw GPUUnavailable(reason) }
        self.model = model
        self.device = device
        let parameters = try DeviceParameters(store: model.store, device: device)
        self.parameters = parameters
        controllers = try model.controllers.map { try GPURecurrentStack($0, parameters: parameters) }
        let dense = model.memories.map { $0 as! DenseMemory<T> }
        memories = try dense.map { try GPUDenseMemory($0, device: device) }
        interfaces = dense.map { memory in memory.interfaceBlocks.map { (GPULinear($0.linear, parameters: parameters), $0.column) } }
        output = GPULinear(model.output, parameters: parameters)
        rows = GPURowKernels(device: device)
    }

    var configuration: DNCConfiguration { model.configuration }

    /// The state a call starts from and leaves: per DNC layer the controller state, the memories,
    /// the last layer's read vector (B×R·W).
    public final class State: @unchecked Sendable {
        public let batch: Int
        public let controllers: [GPURecurrentState<T>]
        public let memories: [GPUDenseMemoryState<T>]
        public let lastRead: DeviceArray<T>
        private let device: any KernelDevice
        init(batch: Int, controllers: [GPURecurrentState<T>], memories: [GPUDenseMemoryState<T>], lastRead: DeviceArray<T>,
             device: any KernelDevice) {
            self.batch = batch
            self.controllers = controllers
            self.memories = memories
            self.lastRead = lastRead
            self.device = device
        }
        deinit { device.free(lastRead) }
    }

    /// The fresh state of the `.paper` preset: zero controller state, empty memories, zero reads.
    /// (pytorch-dnc's random initial controller state of `.pytorchCompat` is uploaded from the CPU
    /// model's draw with `upload(_:)`.)
    public func zeroState(batch: Int) throws -> State {
        State(batch: batch, controllers: try controllers.map { try $0.makeState(batch: batch) },
              memories: try memories.map { try $0.makeState(batch: batch) },
              lastRead: try device.zeros(T.self, count: batch * configuration.readWidth), device: device)
    }

    /// A CPU state on the device.
    public func upload(_ state: DNCState<T>) throws -> State {
        let device = try zeroState(batch: state.batch)
        for (k, controller) in controllers.enumerated() { try controller.upload(state.controllers[k], into: device.controllers[k]) }
        for (k, memory) in memories.enumerated() {
            try memory.upload(state.memories[k] as! DenseMemoryState<T>, into: device.memories[k])
        }
        try self.device.upload(state.lastRead.storage, to: device.lastRead)
        return device
    }

    /// A device state on the CPU.
    public func download(_ state: State) throws -> DNCState<T> {
        DNCState(controllers: try zip(controllers, state.controllers).map { try $0.download($1) },
                 memories: try zip(memories, state.memories).map { try $0.download($1) },
                 lastRead: Tensor(shape: [state.batch, configuration.readWidth], storage: try device.download(state.lastRead)))
    }

    /// What a forward call records for its backward: χˡ of every step and layer (L+1 arrays of
    /// T×B×width(χˡ)), the controllers' outputs before the clamp (L arrays of T×B×H), the
    /// per-step activity flags (T×B, or none), and the scratch rows both passes use.
    final class CallRecord {
        let batch: Int, steps: Int
        /// Whether every step has its own slot (for a backward); else all steps share slot 0.
        let recording: Bool
        let chi: [DeviceArray<T>]
        let chiWidth: [Int]
        let hidden: [DeviceArray<T>]
        let active: DeviceArray<Int32>?
        let interface: DeviceArray<T>      // B×S
        let reads: DeviceArray<T>          // B×R·W
        let saved: DeviceArray<T>          // depth×B×H, a controller state's frozen rows
        let savedCell: DeviceArray<T>
        let initialRead: DeviceArray<T>    // B×R·W, the read vector a pytorch-dnc call started with
        init(batch: Int, steps: Int, recording: Bool, chi: [DeviceArray<T>], chiWidth: [Int], hidden: [DeviceArray<T>], active: DeviceArray<Int32>?,
             interface: DeviceArray<T>, reads: DeviceArray<T>, saved: DeviceArray<T>, savedCell: DeviceArray<T>, initialRead: DeviceArray<T>) {
            self.batch = batch; self.steps = steps; self.recording = recording; self.chi = chi; self.chiWidth = chiWidth; self.hidden = hidden
            self.active = active; self.interface = interface; self.reads = reads; self.saved = saved; self.savedCell = savedCell
            self.initialRead = initialRead
        }
        /// Step t's activity flags (B), or nil when every sample runs every step.
        func active(step t: Int) -> DeviceArray<Int32>? { active?.slice(t * batch, count: batch) }
        /// Step t's rows of χˡ.
        func chi(_ layer: Int, step t: Int) -> DevicePointer { chi[layer].element(slot(t) * batch * chiWidth[layer]) }
        func hidden(_ layer: Int, step t: Int, width: Int) -> DevicePointer { hidden[layer].element(slot(t) * batch * width) }
        private func slot(_ t: Int) -> Int { recording ? t : 0 }
    }
    private var record: CallRecord?
    private var backwardWork: BackwardScratch?
    private var allocations: [DeviceBuffer] = []

    deinit {
        releaseRecord()
        if let backwardWork { for buffer in backwardWork.buffers { device.free(buffer) } }
    }

    private func releaseRecord() {
        for buffer in allocations { device.free(buffer) }
        allocations = []
        record = nil
    }

    private func scratch(_ count: Int) throws -> DeviceArray<T> {
        let buffer = try device.allocate(bytes: max(1, count * MemoryLayout<T>.stride))
        allocations.append(buffer)
        return DeviceArray(pointer: buffer.pointer, count: count)
    }

    /// Sizes the call's record (kept across calls of the same sizes).
    private func prepareRecord(batch: Int, steps: Int, lengths: [Int]?, recording: Bool) throws -> CallRecord {
        let c = configuration, h = c.hiddenSize
        if let record, record.batch == batch, record.steps == steps, record.recording == recording,
           (record.active != nil) == (lengths != nil) {
            if let lengths, let active = record.active { try device.upload(Self.activityFlags(lengths, batch: batch, steps: steps), to: active) }
            return record
        }
        releaseRecord()
        let widths = (0...c.layerCount).map { ($0 == 0 ? c.inputSize : h) + c.readWidth }
        let slots = recording ? steps : 1
        let chi = try widths.map { try scratch(slots * batch * $0) }
        let hidden = try (0..<c.layerCount).map { _ in try scratch(slots * batch * h) }
        var active: DeviceArray<Int32>?
        if let lengths {
            let buffer = try device.allocate(bytes: max(1, steps * batch * 4))
            allocations.append(buffer)
            active = DeviceArray(pointer: buffer.pointer, count: steps * batch)
            try device.upload(Self.activityFlags(lengths, batch: batch, steps: steps), to: active!)
        }
        let interfaceWidth = memories.map(\.interfaceSize).max() ?? 0
        let depth = c.controllerDepth
        let made = CallRecord(batch: batch, steps: steps, recording: recording, chi: chi, chiWidth: widths, hidden: hidden, active: active,
                              interface: try scratch(batch * interfaceWidth), reads: try scratch(batch * c.readWidth),
                              saved: try scratch(depth * batch * h), savedCell: try scratch(depth * batch * h),
                              initialRead: try scratch(batch * c.readWidth))
        record = made
        return made
    }

    /// Flags (T×B, Int32): sample b runs step t when t < its length.
    static func activityFlags(_ lengths: [Int], batch: Int, steps: Int) -> [Int32] {
        (0..<steps).flatMap { t in (0..<batch).map { b in t < lengths[b] ? Int32(1) : 0 } }
    }

    /// Runs a time-major sequence `input` (T×B×X on the device) from `state` (advanced in
    /// place) and writes the time-major output (T×B×Y). Records what `backward` needs.
    /// `lengths`: per-sample valid steps (the sample's state is frozen and its output zero after).
    /// `training`: dropout on, its masks drawn from the CPU model's `dropoutRandom` (advanced as
    /// the CPU model advances it). `recording: false` keeps one step's record instead of the
    /// sequence's (evaluation of long sequences; no backward then). `resetExperience` is not
    /// offered: start from `zeroState`.
    public func forward(input: DeviceArray<T>, batch: Int, steps: Int, state: State, lengths: [Int]? = nil,
                        training: Bool = false, recording: Bool = true, output: DeviceArray<T>) throws {
        let c = configuration, h = c.hiddenSize, rw = c.readWidth, x = c.inputSize, y = c.resolvedOutputSize
        precondition(input.count == steps * batch * x && output.count == steps * batch * y && state.batch == batch,
                     "GPUDNC.forward: sizes do not match (T \(steps), B \(batch))")
        let record = try prepareRecord(batch: batch, steps: steps, lengths: lengths, recording: recording)
        for controller in controllers { try controller.beginSequence(batch: batch, steps: steps, recording: recording) }
        let memorySteps = steps * (c.shareMemoryBetweenLayers ? c.layerCount : 1)
        for memory in memories { try memory.beginSequence(batch: batch, steps: memorySteps, recording: recording) }
        // pytorch-dnc feeds every step the read vector the call started with (docs/pytorch-dnc.md).
        let initialRead: DeviceArray<T>? = c.preset == .paper ? nil : record.initialRead
        if let initialRead { try device.copy(state.lastRead, to: initialRead) }

        for t in 0..<steps {
            let active = record.active(step: t)
            let chi0 = record.chi(0, step: t), width0 = record.chiWidth[0]
            try rows.copyRows(input.element(t * batch * x), ld: x, to: chi0, ld: width0, rows: batch, columns: x)
            try rows.copyRows((initialRead ?? state.lastRead).pointer, ld: rw, to: chi0.advanced(byBytes: x * MemoryLayout<T>.stride),
                              ld: width0, rows: batch, columns: rw)
            for layer in 0..<c.layerCount {
                try layerForward(record, step: t, layer: layer, active: active, state: state, training: training)
            }
            // The carried read vector: the last layer's, for the active samples.
            let last = record.chi(c.layerCount, step: t), lastWidth = record.chiWidth[c.layerCount]
            try rows.copyRows(last.advanced(byBytes: h * MemoryLayout<T>.stride), ld: lastWidth, to: record.reads.pointer, ld: rw,
                              rows: batch, columns: rw)
            if let active {
                try rows.restoreInactiveRows(from: state.lastRead.pointer, ld: rw, into: record.reads.pointer, ld: rw, rows: batch,
                                             columns: rw, active: active, batch: batch)
            }
            try device.copy(record.reads, to: state.lastRead)
            let outputRows = output.element(t * batch * y)
            try self.output.forward(input: last, rows: batch, output: outputRows, ldInput: lastWidth)
            if let active { try rows.zeroInactiveRows(outputRows, ld: y, rows: batch, columns: y, active: active, batch: batch) }
        }
    }

    /// One DNC layer at step t: controller on χˡ, o = clamp(h) into χˡ⁺¹'s first H columns, the
    /// interface projection of o, the memory step, its reads into χˡ⁺¹'s last R·W columns.
    private func layerForward(_ record: CallRecord, step t: Int, layer: Int, active: DeviceArray<Int32>?, state: State,
                              training: Bool) throws {
        let c = configuration, h = c.hiddenSize, rw = c.readWidth, batch = record.batch
        let controllerState = state.controllers[layer]
        if active != nil { try saveControllerState(controllerState, record: record) }
        let hidden = record.hidden(layer, step: t, width: h)
        try controllers[layer].step(input: record.chi(layer, step: t), ldInput: record.chiWidth[layer], state: controllerState, stepIndex: t,
                                    training: training, dropoutRandom: &model.dropoutRandom, output: hidden)
        if let active { try restoreControllerState(controllerState, record: record, active: active) }
        let next = record.chi(layer + 1, step: t), nextWidth = record.chiWidth[layer + 1]
        try rows.clampRows(hidden, ld: h, to: next, ld: nextWidth, rows: batch, columns: h, limit: T(c.controllerOutputClip))
        let k = (c.shareMemoryBetweenLayers ? 0 : layer)
        let memory = memories[k], s = memory.interfaceSize
        for block in interfaces[k] {
            try block.linear.forward(input: next, rows: batch, output: record.interface.element(block.column), ldInput: nextWidth, ldOutput: s)
        }
        let stepIndex = c.shareMemoryBetweenLayers ? t * c.layerCount + layer : t
        try memory.step(interface: record.interface.pointer, batch: batch, state: state.memories[k], stepIndex: stepIndex, active: active,
                        readVectors: record.reads.pointer)
        try rows.copyRows(record.reads.pointer, ld: rw, to: next.advanced(byBytes: h * MemoryLayout<T>.stride), ld: nextWidth,
                          rows: batch, columns: rw)
    }

    /// Keeps a controller state (or its gradient) in the record's frozen-row buffers.
    func saveControllerState(_ state: GPURecurrentState<T>, record: CallRecord) throws {
        try device.copy(state.hidden, to: record.saved.slice(0, count: state.hidden.count))
        if let cell = state.cell { try device.copy(cell, to: record.savedCell.slice(0, count: cell.count)) }
    }

    /// Inactive samples keep the controller state (or its gradient) they had before the step.
    func restoreControllerState(_ state: GPURecurrentState<T>, record: CallRecord, active: DeviceArray<Int32>) throws {
        let h = configuration.hiddenSize, rowCount = state.hidden.count / h
        try rows.restoreInactiveRows(from: record.saved.pointer, ld: h, into: state.hidden.pointer, ld: h, rows: rowCount, columns: h,
                                     active: active, batch: record.batch)
        if let cell = state.cell {
            try rows.restoreInactiveRows(from: record.savedCell.pointer, ld: h, into: cell.pointer, ld: h, rows: rowCount, columns: h,
                                         active: active, batch: record.batch)
        }
    }

    var currentRecord: CallRecord? { record }

    /// The backward's scratch for `batch` (kept while the batch stays the same).
    func backwardScratch(batch: Int) throws -> BackwardScratch {
        if let backwardWork, backwardWork.batch == batch { return backwardWork }
        if let old = backwardWork { for buffer in old.buffers { device.free(buffer) } }
        backwardWork = nil
        let made = try makeBackwardScratch(batch: batch)
        backwardWork = made
        return made
    }

    /// Sets every value of `state` to zero (the empty memory, zero controller state and reads):
    /// a `.paper` fresh state, or an all-zero gradient.
    public func resetGradient(_ state: State) throws {
        for controller in state.controllers { try controller.zero() }
        for memory in state.memories { try memory.zero() }
        try device.zero(state.lastRead)
    }

    /// Makes `state` the model's fresh state for a new sequence: zero (`.paper`), or with
    /// pytorch-dnc's random controller state drawn by the CPU model (`.pytorchCompat`).
    public func resetToFresh(_ state: State) throws {
        try resetGradient(state)
        if configuration.preset == .pytorchCompat {
            let fresh = model.freshState(batch: state.batch)
            for (k, controller) in controllers.enumerated() { try controller.upload(fresh.controllers[k], into: state.controllers[k]) }
        }
    }
}

extension MemoryKind {
    /// pytorch-dnc's memory_type name.
    var name: String {
        switch self {
        case .dense: "dnc"
        case .sparse: "sam"
        case .sparseTemporal: "sdnc"
        }
    }
}

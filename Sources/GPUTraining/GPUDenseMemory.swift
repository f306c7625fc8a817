import DNCGPU
import DNCMemories
import DNCNumerics

/// The dense DNC memory step, forward and backward, on a `KernelDevice` (issue #14): the GPU
/// counterpart of `DenseMemory.step` / `backwardStep` from the raw interface vector ẑ on
/// (the interface projection, controller output → ẑ, is the model's gemm).
///
/// Sizes: B batch, N = cells, W = width, R = read heads, S = `interfaceSize` = R·W + 3W + 5R + 3.
/// One launch per step forward (memory_step.cu) and one per step backward
/// (memory_step_backward.cu), each one thread block per sample; no host synchronisation.
/// The tape (GPUDenseMemoryTape) keeps per step everything the backward reads, the link before
/// the step included (the CPU keeps it every 4th step and recomputes; device memory affords it).
/// Not reentrant: one sequence at a time per instance.
public final class GPUDenseMemory<T: Real>: @unchecked Sendable {
    public let device: any KernelDevice
    public let cells: Int, width: Int, readHeads: Int
    public let options: MemoryOptions
    let layout: GPUDenseRecordLayout
    private var tape: GPUDenseMemoryTape<T>?
    private var recording = false

    /// nil when the GPU memory supports `memory`'s options, else one line naming the unsupported option.
    public static func unsupportedReason(_ memory: DenseMemory<T>) -> String? {
        let improvements = memory.options.improvements
        if improvements.maskedContentLookup { return "the GPU dense memory has no DNC-MD masked content lookup" }
        if improvements.deallocation { return "the GPU dense memory has no DNC-MD de-allocation" }
        if improvements.linkSharpness { return "the GPU dense memory has no DNC-MD link sharpness" }
        // The backward's 2·(3R + 2) reduction lanes of the smallest block (32 threads) must fit 48 KiB of shared memory.
        if 2 * (3 * memory.readHeads + 2) * 32 * MemoryLayout<T>.stride > 48 * 1024 {
            return "the GPU dense memory takes at most \((48 * 1024 / (64 * MemoryLayout<T>.stride) - 2) / 3) read heads, not \(memory.readHeads)"
        }
        return nil
    }

    public init(_ memory: DenseMemory<T>, device: any KernelDevice) throws {
        if let reason = Self.unsupportedReason(memory) { throw GPUUnavailable(reason) }
        self.device = device
        cells = memory.cellCount
        width = memory.cellWidth
        readHeads = memory.readHeads
        options = memory.options
        layout = GPUDenseRecordLayout(cells: cells, width: width, readHeads: readHeads,
                                      interfaceSize: memory.interfaceSize)
        precondition(layout.interfaceSize == readHeads * width + 3 * width + 5 * readHeads + 3,
                     "interface size \(layout.interfaceSize) is not the DNC's")
    }

    /// S.
    public var interfaceSize: Int { layout.interfaceSize }

    private var precision: KernelPrecision { .of(T.self) }

    /// The empty memory for `batch` samples (as `DenseMemory.zeroState`).
    public func makeState(batch: Int) throws -> GPUDenseMemoryState<T> {
        try GPUDenseMemoryState(device: device, batch: batch, cells: cells, width: width, readHeads: readHeads)
    }

    public func upload(_ state: DenseMemoryState<T>, into destination: GPUDenseMemoryState<T>) throws {
        try destination.upload(state)
    }

    public func download(_ state: GPUDenseMemoryState<T>) throws -> DenseMemoryState<T> {
        try state.download()
    }

    /// Starts a call of up to `steps` steps for `batch` samples; sizes the device tape (one
    /// record per step when recording, one reused record otherwise). Keeps the tape when it fits.
    public func beginSequence(batch: Int, steps: Int, recording: Bool) throws {
        precondition(batch >= 1 && steps >= 1, "a sequence needs a batch and steps")
        let capacity = recording ? steps : 1
        if let tape, tape.batch == batch, tape.capacity >= capacity {
            self.recording = recording
            return
        }
        tape = nil
        tape = try GPUDenseMemoryTape(device: device, layout: layout, batch: batch, capacity: capacity)
        self.recording = recording
    }

    /// Threads per block: a power of two from 32 to 256 covering N, lowered so that `lanes`
    /// reduction lanes in two areas fit the 48 KiB of dynamic shared memory every GPU gives
    /// without opting in.
    private func threads(lanes: Int) -> Int {
        var t = 32
        while t < cells && t < 256 { t *= 2 }
        while t > 32 && 2 * lanes * t * MemoryLayout<T>.stride > 48 * 1024 { t /= 2 }
        return t
    }

    private func realArgument(_ value: Double) -> KernelArgument { .real(T(value)) }

    private func checkedTape(batch: Int, stepIndex: Int) -> GPUDenseMemoryTape<T> {
        guard let tape else { preconditionFailure("beginSequence before the first step") }
        precondition(tape.batch == batch, "the sequence was begun for batch \(tape.batch), not \(batch)")
        precondition(!recording || (stepIndex >= 0 && stepIndex < tape.capacity),
                     "step \(stepIndex) outside the \(tape.capacity) recorded steps")
        return tape
    }

    /// One write-then-read step: raw interface ẑ (B×S) → read vectors (B×R·W, head-major as the
    /// CPU), `state` advanced in place, recorded at `stepIndex` when recording. `active`
    /// (optional, B Int32 flags on the device): an inactive sample's state stays unchanged and it
    /// reads zeros (as the CPU's `active`). `interfaceStride` and `readVectorsStride` (elements
    /// between rows; default S and R·W) let ẑ and the read vectors be rows of wider matrices.
    public func step(interface: DevicePointer, batch: Int, state: GPUDenseMemoryState<T>, stepIndex: Int,
                     active: DeviceArray<Int32>? = nil, readVectors: DevicePointer,
                     interfaceStride: Int? = nil, readVectorsStride: Int? = nil) throws {
        let interfaceStride = interfaceStride ?? interfaceSize, readStride = readVectorsStride ?? readHeads * width
        precondition(interfaceStride >= interfaceSize && readStride >= readHeads * width, "row strides below the row widths")
        precondition(state.batch == batch && state.cells == cells && state.width == width && state.readHeads == readHeads,
                     "state shape differs from the memory's")
        precondition(active == nil || active!.count >= batch, "need one active flag per sample")
        let tape = checkedTape(batch: batch, stepIndex: stepIndex)
        let index = recording ? stepIndex : 0
        let t = threads(lanes: readHeads)
        try device.launch(precision.kernelName("dnc_memory_step"), grid: (batch, 1), threads: t,
                          sharedBytes: 2 * readHeads * t * MemoryLayout<T>.stride, [
                              .pointer(interface), state.memory.argument(), state.link.argument(),
                              state.precedence.argument(), state.readWeights.argument(),
                              state.writeWeights.argument(), state.usage.argument(),
                              .pointer(active?.pointer ?? DevicePointer(address: 0)), tape.offsets.argument(),
                              tape.record(index).argument(), tape.integerRecord(index).argument(),
                              .int(cells), .int(width), .int(readHeads), .int(layout.size),
                              realArgument(options.strengthActivation == .oneplus ? 1 : 0),
                              .int(options.squashKeysAndWriteVector ? 1 : 0),
                              realArgument(options.cosineStyle == .deepMind ? 1e-6 : 0),
                              .pointer(readVectors), .int(interfaceStride), .int(readStride),
                          ])
    }

    /// Backward of recorded step `stepIndex` (latest first): `readVectorsGradient` B×R·W;
    /// `stateGradient` holds dℓ/d(state after) and becomes dℓ/d(state before) (same layout as
    /// the state); `interfaceGradient` (B×S) written with dℓ/dẑ. Which samples were active is
    /// read from the record (the step's `active`); `active` is accepted for symmetry and unused.
    /// An inactive sample's state gradient passes through and its dℓ/dẑ is 0.
    /// `readVectorsGradientStride` and `interfaceGradientStride`: elements between rows (default R·W and S).
    public func backwardStep(stepIndex: Int, readVectorsGradient: DevicePointer, stateGradient: GPUDenseMemoryState<T>,
                             interfaceGradient: DevicePointer, active: DeviceArray<Int32>? = nil,
                             readVectorsGradientStride: Int? = nil, interfaceGradientStride: Int? = nil) throws {
        let readStride = readVectorsGradientStride ?? readHeads * width, interfaceStride = interfaceGradientStride ?? interfaceSize
        precondition(interfaceStride >= interfaceSize && readStride >= readHeads * width, "row strides below the row widths")
        guard let tape else { preconditionFailure("beginSequence before the first step") }
        precondition(recording, "the sequence was begun without recording")
        precondition(stepIndex >= 0 && stepIndex < tape.capacity, "step \(stepIndex) was not recorded")
        let batch = tape.batch
        precondition(stateGradient.batch == batch && stateGradient.cells == cells, "state gradient shape differs")
        let lanes = 3 * readHeads + 2
        let t = threads(lanes: lanes)
        try device.launch(precision.kernelName("dnc_memory_step_backward"), grid: (batch, 1), threads: t,
                          sharedBytes: 2 * lanes * t * MemoryLayout<T>.stride, [
                              tape.record(stepIndex).argument(), tape.integerRecord(stepIndex).argument(),
                              tape.offsets.argument(), .pointer(readVectorsGradient),
                              stateGradient.memory.argument(), stateGradient.link.argument(),
                              stateGradient.precedence.argument(), stateGradient.readWeights.argument(),
                              stateGradient.writeWeights.argument(), stateGradient.usage.argument(),
                              .pointer(interfaceGradient), tape.scratch.argument(),
                              .int(cells), .int(width), .int(readHeads), .int(layout.size),
                              .int(layout.backwardScratchSize), .int(options.squashKeysAndWriteVector ? 1 : 0),
                              .int(options.stopGradientThroughUsage ? 1 : 0), .int(readStride), .int(interfaceStride),
                          ])
    }
}

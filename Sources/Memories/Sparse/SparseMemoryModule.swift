import DNCNumerics
import DNCLayers

/// What SAM (`SparseMemory`) and the SDNC's memory (`SparseTemporalMemory`) share as memories of
/// a model: both change their state in place, log their steps on a `SparseMemoryTape`, roll the
/// state back during their backward and carry its gradient sparsely
/// (docs/sparse-memory.md, "Efficient backward").
///
/// The `MemoryModule` requirements are met here once for both, from the sparse operations below.
public protocol SparseMemoryModule<Scalar>: MemoryModule
    where State == SparseMemoryState<Scalar>, StateGradient == SparseMemoryStateGradient<Scalar>,
          Tape == SparseMemoryTape<Scalar> {
    /// Read slots per sample (positions and weights a step leaves as the previous read).
    var readSlots: Int { get }
    /// The most cells one step writes (rows of the padded debug tensors).
    var maximumWrites: Int { get }
    /// The calls recorded on this memory's states and its reusable fresh state.
    var callHistory: SparseCallHistory<Scalar> { get }
    /// A new empty state for `batch` samples (allocates O(B·N·W)).
    func zeroState(batch: Int) -> SparseMemoryState<Scalar>
    /// One step on `state`, changed in place (see `MemoryModule.step`).
    func step(input: UnsafePointer<Scalar>, batch: Int, state: SparseMemoryState<Scalar>, tape: SparseMemoryTape<Scalar>?,
              active: [Bool]?, readVectors: UnsafeMutablePointer<Scalar>)
    /// Puts the state back at the end of the steps logged on `tape` (after their backward undid them).
    func restoreFinalState(tape: SparseMemoryTape<Scalar>)
    /// Undoes every logged step of `tape` (latest first) without computing gradients, leaving
    /// the state as it was before the sequence; the state must be at the end of it.
    func rollBack(tape: SparseMemoryTape<Scalar>)
    /// The most recent step for one sample. `memoryWindow` > 0: `memory` holds the first
    /// `memoryWindow` rows of the memory after the step instead of the rows it wrote.
    func lastStepDebugRecord(batchElement: Int, memoryWindow: Int) -> SparseMemoryDebugRecord<Scalar>
}

extension SparseMemoryModule {
    public func lastStepDebugRecord(batchElement: Int) -> SparseMemoryDebugRecord<Scalar> {
        lastStepDebugRecord(batchElement: batchElement, memoryWindow: 0)
    }

    /// Reuses the previous fresh state (reset lazily, O(B·R·K)) when the batch matches: a new
    /// state allocates N×W per sample.
    public func freshState(batch: Int) -> SparseMemoryState<Scalar> {
        if let pooled = callHistory.freshStatePool, pooled.batch == batch {
            pooled.reset()
            return pooled
        }
        let state = zeroState(batch: batch)
        callHistory.freshStatePool = state
        return state
    }

    public func makeTape() -> SparseMemoryTape<Scalar> { SparseMemoryTape<Scalar>() }

    /// The state is an object changed in place.
    public var changesStateInPlace: Bool { true }

    public func beginSequence(state: inout SparseMemoryState<Scalar>, tape: SparseMemoryTape<Scalar>, steps: Int,
                              recording: Bool, reset: Bool, fresh: Bool, changesMemory: Bool) {
        callHistory.noteCall(tape: tape, state: state, recorded: recording, reset: reset || fresh, changesMemory: changesMemory)
        if reset { state.reset() }
        tape.reset()
    }

    public func step(input: UnsafePointer<Scalar>, batch: Int, state: inout SparseMemoryState<Scalar>,
                     tape: SparseMemoryTape<Scalar>?, active: [Bool]?, allocationOrder: [[Int]]?,
                     readVectors: UnsafeMutablePointer<Scalar>) {
        step(input: input, batch: batch, state: state, tape: tape, active: active, readVectors: readVectors)
    }

    /// Calls recorded after `tape`'s on the same state are undone first, latest first: the
    /// backward rolls the state back step by step from the end of `tape`'s call.
    /// The backward's own steps then roll back the rows but not the index (`defersIndexUndo`):
    /// `endBackward` restores the final state, so the index would only be undone to be redone.
    public func beginBackward(tape: SparseMemoryTape<Scalar>) {
        for later in callHistory.calls(after: tape).reversed() { rollBack(tape: later) }
        tape.defersIndexUndo = true
    }

    /// The backward rolled the state back to the start of `tape`'s call; put it back at its end
    /// and redo the later calls, where the next call continues.
    public func endBackward(tape: SparseMemoryTape<Scalar>) {
        restoreFinalState(tape: tape)
        tape.defersIndexUndo = false
        for later in callHistory.calls(after: tape) { restoreFinalState(tape: later) }
    }

    /// The debug record as (key, tensor) pairs of one shape every step: the rows written and
    /// their positions and weights padded to `maximumWrites` (zero rows, position −1, weight 0),
    /// unless a memory window was asked for.
    public func lastStepTrace(batchElement: Int, memoryWindow: Int) -> MemoryTraceRecord<Scalar> {
        let rows = maximumWrites
        let fields = lastStepDebugRecord(batchElement: batchElement, memoryWindow: memoryWindow).fields.map { field in
            switch field.key {
            case "memory": return memoryWindow > 0 ? field : (field.key, field.value.paddingRows(to: rows, with: 0))
            case "write_positions": return (field.key, field.value.paddingColumns(to: rows, with: -1))
            case "write_weights": return (field.key, field.value.paddingColumns(to: rows, with: 0))
            default: return field
            }
        }
        return MemoryTraceRecord(fields: fields, axes: SparseMemoryDebugRecord<Scalar>.axes,
                                 positionKeys: SparseMemoryDebugRecord<Scalar>.positionKeys)
    }
}

/// The sparse memories' states are objects: the same state is the same object.
extension SparseMemoryState: MemoryStateValue {
    public typealias Scalar = T
    public func isSame(as other: any MemoryStateValue<T>) -> Bool { (other as? SparseMemoryState<T>) === self }
}

/// Gradients of in-place states are not compared by value.
extension SparseMemoryStateGradient: MemoryStateValue {
    public typealias Scalar = T
    public var batch: Int { samples.count }
    public func isSame(as other: any MemoryStateValue<T>) -> Bool {
        (other as? SparseMemoryStateGradient<T>)?.batch == batch
    }
}

extension Tensor {
    /// A 2-D tensor with rows appended up to `rows` rows, each entry `value`.
    func paddingRows(to rows: Int, with value: T) -> Tensor {
        guard shape[0] < rows else { return self }
        return Tensor(shape: [rows, shape[1]], storage: storage + Array(repeating: value, count: (rows - shape[0]) * shape[1]))
    }

    /// A (1, n) tensor extended to (1, `columns`) with `value`.
    func paddingColumns(to columns: Int, with value: T) -> Tensor {
        guard shape[1] < columns else { return self }
        return Tensor(shape: [1, columns], storage: storage + Array(repeating: value, count: columns - shape[1]))
    }
}

extension SparseSampleMemory {
    /// Rows 0 ..< min(count, N) of the memory ((rows, W); unused cells are zero rows).
    func window(_ count: Int) -> Tensor<T> {
        let rows = Swift.min(count, cells)
        return Tensor(shape: [rows, width], storage: (0..<rows).flatMap { row($0) })
    }
}

extension SparseMemory: SparseMemoryModule {
    public typealias Scalar = T
    public var maximumWrites: Int { readSlots + 1 }
}

import DNCNumerics

/// The dense memory's state is a value: it is its own gradient, and two states are the same
/// when their tensors are equal.
extension DenseMemoryState: MemoryStateValue {
    public typealias Scalar = T
    public func isSame(as other: any MemoryStateValue<T>) -> Bool { (other as? DenseMemoryState<T>) == self }
}

/// The dense memory as a `MemoryModule`: its state is a value the step replaces, so a backward
/// needs nothing undone before or put back after.
extension DenseMemory: MemoryModule {
    public typealias Scalar = T

    public func freshState(batch: Int) -> DenseMemoryState<T> { zeroState(batch: batch) }
    public func zeroStateGradient(batch: Int) -> DenseMemoryState<T> { zeroState(batch: batch) }
    public func makeTape() -> DenseMemoryTape<T> { DenseMemoryTape<T>() }

    public func beginSequence(state: inout DenseMemoryState<T>, tape: DenseMemoryTape<T>, steps: Int, recording: Bool,
                              reset: Bool, fresh: Bool, changesMemory: Bool) {
        if reset { state = zeroState(batch: state.batch) }
        tape.reset(expectingRecords: recording ? steps : 1)
    }

    public func beginBackward(tape: DenseMemoryTape<T>) {}
    public func endBackward(tape: DenseMemoryTape<T>) {}

    public func lastStepTrace(batchElement: Int, memoryWindow: Int) -> MemoryTraceRecord<T> {
        MemoryTraceRecord(fields: lastStepDebugRecord(batchElement: batchElement).fields, axes: MemoryDebugRecord<T>.axes)
    }
}

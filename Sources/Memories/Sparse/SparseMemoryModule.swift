import DNCNumerics
import DNCLayers

/// What a model needs from a sparse memory, SAM (`SparseMemory`) or the SDNC's
/// (`SparseTemporalMemory`): both are modified in place, logged on a `SparseMemoryTape`, rolled
/// back by their backward and carry their state gradient sparsely.
public protocol SparseMemoryModule<Scalar>: AnyObject, Sendable {
    associatedtype Scalar: Real
    /// Width of the controller output the interface reads.
    var inputSize: Int { get }
    /// W.
    var cellWidth: Int { get }
    /// R.
    var readHeads: Int { get }
    /// S, the width of the raw interface vector.
    var interfaceSize: Int { get }
    /// The interface weights transposed for the forward product (see `TransposedWeights`).
    var interfaceTransposedWeights: TransposedWeights<Scalar> { get }
    /// Read slots per sample (positions and weights a step leaves as the previous read).
    var readSlots: Int { get }
    /// The most cells one step writes (rows of the padded debug tensors).
    var maximumWrites: Int { get }
    func initializeDefault(random: CounterRandom, stream: UInt64)
    func zeroState(batch: Int) -> SparseMemoryState<Scalar>
    func zeroStateGradient(batch: Int) -> SparseMemoryStateGradient<Scalar>
    func step(input: UnsafePointer<Scalar>, batch: Int, state: SparseMemoryState<Scalar>, tape: SparseMemoryTape<Scalar>?,
              active: [Bool]?, readVectors: UnsafeMutablePointer<Scalar>)
    func backwardStep(tape: SparseMemoryTape<Scalar>, stepIndex: Int, readVectorsGradient: UnsafePointer<Scalar>,
                      stateGradient: inout SparseMemoryStateGradient<Scalar>, inputGradient: UnsafeMutablePointer<Scalar>)
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

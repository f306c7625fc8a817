import DNCNumerics
import DNCLayers

/// A memory's state for a batch, or the gradient of a loss with respect to one, as a model
/// carries it between calls without knowing which kind of memory it belongs to.
///
/// The dense memory's state is a value (`DenseMemoryState`, also its own gradient); the sparse
/// memories' states are objects changed in place (`SparseMemoryState`) with a sparse gradient
/// (`SparseMemoryStateGradient`).
public protocol MemoryStateValue<Scalar>: Sendable {
    associatedtype Scalar: Real
    /// B, the number of samples.
    var batch: Int { get }
    /// Whether `other` is the same state: equal values for a value state, the same object for
    /// a state changed in place. Gradients of in-place states are not compared (always true for
    /// the same type and batch).
    func isSame(as other: any MemoryStateValue<Scalar>) -> Bool
}

/// Stands in for a state while a memory step holds it, so that the state's storage is not
/// shared and changing it does not copy it (copy-on-write).
struct VacantMemoryState<Scalar: Real>: MemoryStateValue {
    var batch: Int { 0 }
    func isSame(as other: any MemoryStateValue<Scalar>) -> Bool { other is VacantMemoryState }
}

/// What a DNC needs from an external memory: the one seam between the model's loop over time
/// and layers and a memory's mechanisms (docs/architecture.md, "One DNC forward step").
///
/// The dense DNC memory (`DenseMemory`), Sparse Access Memory (`SparseMemory`) and the Sparse
/// DNC's memory (`SparseTemporalMemory`) implement it; a memory living on another device would
/// too. Per call of the model: `beginSequence`, then one `step` per time step (and layer, for a
/// memory shared by layers); for training the steps' `backwardStep` in reverse order between
/// `beginBackward` and `endBackward`. Sizes: B batch, I = `inputSize` (the controller output's
/// width), W = `cellWidth`, R = `readHeads`; the read vectors are B×R×W, head-major.
public protocol MemoryModule<Scalar>: AnyObject, Sendable {
    associatedtype Scalar: Real
    /// The state a step advances.
    associatedtype State: MemoryStateValue<Scalar>
    /// d loss / d `State`.
    associatedtype StateGradient: MemoryStateValue<Scalar>
    /// What a step records for its backward.
    associatedtype Tape: AnyObject

    /// I, the width of the controller output the interface reads.
    var inputSize: Int { get }
    /// W.
    var cellWidth: Int { get }
    /// R.
    var readHeads: Int { get }
    /// S, the width of the raw interface vector.
    var interfaceSize: Int { get }
    /// The interface weights' copies for its per-step products (see `WeightCopies`).
    var interfaceWeightCopies: [WeightCopies<Scalar>] { get }

    /// pytorch-dnc's initialisation of the interface parameters, drawn from `random`'s `stream`.
    func initializeDefault(random: CounterRandom, stream: UInt64)
    /// The empty memory for `batch` samples (may reuse the storage of the previous fresh state:
    /// a fresh state is only valid until the next call).
    func freshState(batch: Int) -> State
    /// The all-zero gradient for `batch` samples.
    func zeroStateGradient(batch: Int) -> StateGradient
    /// A tape for this memory's steps.
    func makeTape() -> Tape

    /// Starts a call of `steps` memory steps on `state`: resets the tape (sized for the steps when
    /// `recording`), and empties the state when `reset` (a zero memory whose gradient does not
    /// flow into the previous one). `fresh`: the state was just made by `freshState`;
    /// `changesMemory`: the call steps the memory at all.
    func beginSequence(state: inout State, tape: Tape, steps: Int, recording: Bool, reset: Bool, fresh: Bool,
                       changesMemory: Bool)
    /// One write-then-read step: `input` (B×I) through the interface and the memory; writes the
    /// read vectors (B×R×W) and advances `state`. With a tape, records the step for
    /// `backwardStep`. `active` (B flags, optional): an inactive sample's state stays unchanged
    /// and it reads zeros. `allocationOrder`: per sample a free-list order to use instead of
    /// sorting (dense memory only; tests reproducing PyTorch's tie order).
    func step(input: UnsafePointer<Scalar>, batch: Int, state: inout State, tape: Tape?, active: [Bool]?,
              allocationOrder: [[Int]]?, readVectors: UnsafeMutablePointer<Scalar>)
    /// Backward of recorded step `stepIndex` (latest first): `stateGradient` holds d loss / d
    /// (state after the step) and becomes d loss / d (state before it); `inputGradient` (B×I) is
    /// overwritten; parameter gradients accumulate in the memory's store.
    func backwardStep(tape: Tape, stepIndex: Int, readVectorsGradient: UnsafePointer<Scalar>,
                      stateGradient: inout StateGradient, inputGradient: UnsafeMutablePointer<Scalar>)
    /// Before the first `backwardStep` of the call recorded on `tape`: a memory changed in place
    /// undoes the calls recorded after it on the same state.
    func beginBackward(tape: Tape)
    /// After the last `backwardStep`: a memory changed in place puts its state back at the end
    /// of the calls made so far.
    func endBackward(tape: Tape)
    /// The debug tensors of the most recent step for one sample, as (key, tensor) pairs of one
    /// shape per key whatever the step. `memoryWindow` > 0 asks a sparse memory for rows
    /// 0 ..< `memoryWindow` of its memory instead of the rows the step wrote.
    func lastStepTrace(batchElement: Int, memoryWindow: Int) -> MemoryTraceRecord<Scalar>
    /// Whether `State` is an object that the memory changes in place (then a step needs no
    /// copy-on-write care: the model's box keeps the same object).
    var changesStateInPlace: Bool { get }
}

/// The debug tensors of one memory step for one sample (pytorch-dnc's `debug=True` keys).
public struct MemoryTraceRecord<T: Real>: Sendable {
    /// (key, tensor), in the memory's order.
    public var fields: [(key: String, value: Tensor<T>)]
    /// Axis names of each key's tensor (the record type's `axes`), for self-describing dumps.
    public var axes: [String: [String]]
    /// Keys whose values are cell indices (−1: empty slot), stored as integers by dumps.
    public var positionKeys: Set<String>

    public init(fields: [(key: String, value: Tensor<T>)], axes: [String: [String]] = [:], positionKeys: Set<String> = []) {
        self.fields = fields
        self.axes = axes
        self.positionKeys = positionKeys
    }

    /// The tensor stored under `key`, if any.
    public subscript(key: String) -> Tensor<T>? { fields.first { $0.key == key }?.value }
}

// MARK: Type-erased calls

/// The model holds its memories as `any MemoryModule` and their states as
/// `any MemoryStateValue`; these open them once per call or step (a dynamic cast, not a copy of
/// the memory: the state is taken out of its box before it changes).
extension MemoryModule {
    /// A value state by default.
    public var changesStateInPlace: Bool { false }

    public func erasedFreshState(batch: Int) -> any MemoryStateValue<Scalar> { freshState(batch: batch) }
    public func erasedZeroStateGradient(batch: Int) -> any MemoryStateValue<Scalar> { zeroStateGradient(batch: batch) }
    public func erasedTape() -> AnyObject { makeTape() }

    /// `tape` as this memory's tape kind (a tape made by another kind of memory is a bug).
    @inline(__always)
    private func typedTape(_ tape: AnyObject) -> Tape {
        guard let typed = tape as? Tape else { preconditionFailure("a \(type(of: tape)) is not a tape of \(Self.self)") }
        return typed
    }

    /// Takes the typed value out of `box`, leaving a vacant one (unless `vacate` is false: an
    /// object changed in place needs no copy-on-write care), so that it is uniquely held.
    @inline(__always)
    private func takeOut<V>(_ box: inout any MemoryStateValue<Scalar>, as type: V.Type, _ what: String, vacate: Bool = true) -> V {
        guard let value = box as? V else {
            preconditionFailure("\(what) is a \(Swift.type(of: box)), this memory needs a \(V.self)")
        }
        if vacate { box = VacantMemoryState<Scalar>() }
        return value
    }

    public func erasedBeginSequence(state: inout any MemoryStateValue<Scalar>, tape: AnyObject, steps: Int, recording: Bool,
                                    reset: Bool, fresh: Bool, changesMemory: Bool) {
        var typed = takeOut(&state, as: State.self, "the memory state", vacate: !changesStateInPlace)
        beginSequence(state: &typed, tape: typedTape(tape), steps: steps, recording: recording,
                      reset: reset, fresh: fresh, changesMemory: changesMemory)
        state = typed
    }

    public func erasedStep(input: UnsafePointer<Scalar>, batch: Int, state: inout any MemoryStateValue<Scalar>, tape: AnyObject?,
                           active: [Bool]?, allocationOrder: [[Int]]?, readVectors: UnsafeMutablePointer<Scalar>) {
        var typed = takeOut(&state, as: State.self, "the memory state", vacate: !changesStateInPlace)
        step(input: input, batch: batch, state: &typed, tape: tape.map(typedTape), active: active,
             allocationOrder: allocationOrder, readVectors: readVectors)
        state = typed
    }

    public func erasedBackwardStep(tape: AnyObject, stepIndex: Int, readVectorsGradient: UnsafePointer<Scalar>,
                                   stateGradient: inout any MemoryStateValue<Scalar>, inputGradient: UnsafeMutablePointer<Scalar>) {
        var typed = takeOut(&stateGradient, as: StateGradient.self, "the memory state gradient")
        backwardStep(tape: typedTape(tape), stepIndex: stepIndex, readVectorsGradient: readVectorsGradient,
                     stateGradient: &typed, inputGradient: inputGradient)
        stateGradient = typed
    }

    public func erasedBeginBackward(tape: AnyObject) { beginBackward(tape: typedTape(tape)) }
    public func erasedEndBackward(tape: AnyObject) { endBackward(tape: typedTape(tape)) }

    /// Whether `gradient` is a state gradient of this memory for `batch` samples.
    public func acceptsStateGradient(_ gradient: any MemoryStateValue<Scalar>, batch: Int) -> Bool {
        gradient is StateGradient && gradient.batch == batch
    }
}

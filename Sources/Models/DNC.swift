import DNCNumerics
import DNCLayers
import DNCMemories

/// The Differentiable Neural Computer (Graves et al., 2016) as pytorch-dnc builds it: `layerCount`
/// DNC layers per time step, each a recurrent controller stack followed by a memory step (one
/// memory shared by the layers, or one per layer), and a linear output layer on the last layer's
/// clipped controller output and read vectors.
///
/// The memory is any `MemoryModule`: the DNC's dense memory, Sparse Access Memory or the Sparse
/// DNC's memory, chosen by `configuration.memoryKind`; the model's loop is the same for all
/// (docs/architecture.md, "One DNC forward step").
///
/// Parameter names are pytorch-dnc's `state_dict` names (docs/pytorch-dnc.md, "Parameter names"): `lstm_layer_0.weight_ih_l0`
/// …, `rnn_layer_memory_shared.interface_weights.weight` …, `output.weight`, `output.bias`.
///
/// Use: `forward` over a sequence (recording for `backward` unless told not to), then
/// `backward` with the gradient of the loss with respect to the output; parameter gradients
/// accumulate in `store.gradients`.
public final class DNC<T: Real>: @unchecked Sendable {
    public let configuration: DNCConfiguration
    public let store: ParameterStore<T>
    public let controllers: [RecurrentStack<T>]
    /// The memories: one if shared between layers, else one per layer.
    public let memories: [any MemoryModule<T>]
    public let output: Linear<T>
    /// The weight copies of the controllers and interfaces for their per-step products, refreshed
    /// at the start of every forward pass and reused by its backward (see `WeightCopies`).
    let weightCopies: [WeightCopies<T>]
    /// Dropout masks are drawn from here (training mode only).
    public var dropoutRandom: RandomSequence
    /// Seeds the compat preset's per-call random controller state.
    let random: CounterRandom
    private var initialStateDraws: UInt64 = 0

    /// Used when a call passes no tape of its own.
    public let defaultTape: DNCTape<T>
    /// Sparse memories' debug `memory`: 0 (default) records the rows each step wrote; w > 0
    /// records rows 0 ..< w of the memory after each step (pytorch-dnc's dense N×W view for a
    /// window of the memory; never the whole of a large memory unless asked).
    public var debugMemoryWindow = 0

    /// Builds the model and initialises its parameters as pytorch-dnc does (docs/dense-memory.md,
    /// "Initialisation"), from `seed`.
    public init(_ configuration: DNCConfiguration, seed: UInt64 = 0, store: ParameterStore<T> = ParameterStore<T>()) {
        if let problem = configuration.validationError() { preconditionFailure("invalid DNC configuration: \(problem)") }
        self.configuration = configuration
        self.store = store
        let c = configuration
        let cellName: String
        switch c.cell { case .lstm: cellName = "lstm"; case .gru: cellName = "gru"; case .rnn: cellName = "rnn" }
        controllers = (0..<c.layerCount).map { layer in
            RecurrentStack(store: store, prefix: "\(cellName)_layer_\(layer).", kind: c.cell,
                           inputSize: (layer == 0 ? c.inputSize : c.hiddenSize) + c.readWidth,
                           hiddenSize: c.hiddenSize, depth: c.controllerDepth, bias: c.controllerBias, dropout: c.dropout)
        }
        memories = (0..<c.memoryCount).map { index in
            Self.makeMemory(c, store: store, prefix: c.shareMemoryBetweenLayers ? "rnn_layer_memory_shared." : "rnn_layer_memory_\(index).")
        }
        output = Linear(store: store, name: "output", inputSize: c.hiddenSize + c.readWidth, outputSize: c.resolvedOutputSize)
        weightCopies = controllers.flatMap { $0.layers.flatMap { $0.weightCopies } } + memories.flatMap { $0.interfaceWeightCopies }
        defaultTape = DNCTape(controllerCount: c.layerCount, memories: memories)
        random = CounterRandom(seed: seed)
        dropoutRandom = random.sequence(stream: 0xD0)

        for (index, stack) in controllers.enumerated() { stack.initializeDefault(random: random, stream: 0x100 + UInt64(index)) }
        for (index, memory) in memories.enumerated() { memory.initializeDefault(random: random, stream: 0x200 + UInt64(index)) }
        // Kaiming-uniform (a = 0) weight and PyTorch's default bias, both on fan-in H + R·W.
        let fanIn = T(c.hiddenSize + c.readWidth)
        store.initializeUniform(output.weight, bound: (6 / fanIn).squareRoot(), random: random, stream: 0x300)
        store.initializeUniform(output.bias!, bound: 1 / fanIn.squareRoot(), random: random, stream: 0x301)
    }

    /// The memory of `configuration.memoryKind` whose parameters are named from `prefix`.
    private static func makeMemory(_ c: DNCConfiguration, store: ParameterStore<T>, prefix: String) -> any MemoryModule<T> {
        switch c.memoryKind {
        case .dense:
            return DenseMemory(store: store, prefix: prefix, inputSize: c.hiddenSize, cellCount: c.cellCount, cellWidth: c.cellWidth,
                               readHeads: c.readHeads, independentLinears: c.independentLinears, options: c.memoryOptions)
        case .sparse(let reads, let index):
            return SparseMemory(store: store, prefix: prefix, inputSize: c.hiddenSize, cellCount: c.cellCount, cellWidth: c.cellWidth,
                                readHeads: c.readHeads, sparseReads: reads, independentLinears: c.independentLinears, index: index)
        case .sparseTemporal(let reads, let temporalReads, let index):
            return SparseTemporalMemory(store: store, prefix: prefix, inputSize: c.hiddenSize, cellCount: c.cellCount,
                                        cellWidth: c.cellWidth, readHeads: c.readHeads, sparseReads: reads,
                                        temporalReads: temporalReads, independentLinears: c.independentLinears, index: index)
        }
    }

    /// A fresh state for `batch` samples: empty memory and zero read vectors; the controller
    /// state is zero (`.paper`) or pytorch-dnc's Xavier-uniform draw with c₀ = h₀, the same for
    /// every layer (`.pytorchCompat`, drawn anew on every call; docs/pytorch-dnc.md, "Random
    /// initial controller state"). A sparse memory's fresh state reuses the previous one's
    /// storage: keep a state across fresh ones with `copy()`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func freshState(batch: Int) -> DNCState<T> {
        let c = configuration
        var controller = controllers[0].zeroState(batch: batch)
        if c.preset == .pytorchCompat {
            let bound = (6 / Double(batch * c.hiddenSize + c.controllerDepth * c.hiddenSize)).squareRoot()
            let draw = initialStateDraws
            initialStateDraws += 1
            for i in 0..<controller.hidden.count {
                controller.hidden[flat: i] = T(-bound + 2 * bound * random.uniform(stream: 0x400 + draw, index: UInt64(i)))
            }
            if controller.cell != nil { controller.cell = controller.hidden }
        }
        return DNCState(controllers: Array(repeating: controller, count: c.layerCount),
                        memories: memories.map { $0.erasedFreshState(batch: batch) },
                        lastRead: Tensor(shape: [batch, c.readWidth]))
    }

    /// The memory that DNC layer `layer` steps.
    @inline(__always)
    func memoryIndex(layer: Int) -> Int { configuration.shareMemoryBetweenLayers ? 0 : layer }

    /// Whether the output is time-major: the input's layout (`.paper`), or the opposite of it
    /// (`.pytorchCompat`, which stacks time-major and transposes only time-major input;
    /// docs/pytorch-dnc.md, "Time-major output").
    public var outputIsTimeMajor: Bool {
        configuration.preset == .pytorchCompat ? configuration.batchFirst : !configuration.batchFirst
    }

    /// Copies (B, width) rows to or from a sequence tensor's step t: row b of step t sits at
    /// `((b·T + t)` (batch-first) or `(t·B + b)` (time-major)) × width.
    @inline(__always)
    func sequenceOffset(sample b: Int, step t: Int, batch: Int, steps: Int, batchFirst: Bool) -> Int {
        batchFirst ? b * steps + t : t * batch + b
    }
}

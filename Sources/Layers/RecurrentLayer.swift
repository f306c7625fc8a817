import DNCNumerics

/// Which recurrence a controller layer runs (PyTorch's `rnn_type` and `nonlinearity`).
public enum RecurrentCellKind: Hashable, Sendable, CustomStringConvertible {
    case lstm
    case gru
    case rnn(RNNActivation)

    public enum RNNActivation: String, Hashable, Sendable { case tanh, relu }

    /// Gate blocks stacked in the weight rows: LSTM i,f,g,o; GRU r,z,n; RNN one.
    public var gateCount: Int {
        switch self { case .lstm: 4; case .gru: 3; case .rnn: 1 }
    }
    /// Whether the state has a cell `c` besides `h`.
    public var hasCellState: Bool { self == .lstm }
    /// Per-sample width of what the forward caches for the backward, in units of H.
    var cacheWidthInHidden: Int {
        switch self { case .lstm: 6; case .gru: 4; case .rnn: 1 }
    }

    /// Parses PyTorch's spelling (`lstm`, `gru`, `rnn`) and nonlinearity (`tanh`, `relu`),
    /// case-insensitively.
    public init?(rnnType: String, nonlinearity: String = "tanh") {
        switch rnnType.lowercased() {
        case "lstm": self = .lstm
        case "gru": self = .gru
        case "rnn":
            guard let activation = RNNActivation(rawValue: nonlinearity.lowercased()) else { return nil }
            self = .rnn(activation)
        default: return nil
        }
    }

    public var description: String {
        switch self { case .lstm: "lstm"; case .gru: "gru"; case .rnn(let a): "rnn(\(a.rawValue))" }
    }
}

/// One recurrent layer's parameters, named as PyTorch names them (`weight_ih_l<k>`, ...), so
/// PyTorch weights load unchanged. The cell mathematics lives in `LSTMCell.swift`,
/// `GRUCell.swift` and `RNNCell.swift`.
public struct RecurrentLayer<T: Real>: Sendable {
    public let kind: RecurrentCellKind
    public let inputSize: Int
    public let hiddenSize: Int
    /// (gateCount·H, in)
    public let weightIH: ParameterSlot
    /// (gateCount·H, H)
    public let weightHH: ParameterSlot
    /// (gateCount·H) each, absent when the layer has no bias.
    public let biasIH: ParameterSlot?
    public let biasHH: ParameterSlot?
    /// `[W_ihᵀ; W_hhᵀ]`, (in + H, gateCount·H), for the forward's products; valid while the
    /// owning stack has it active.
    public let forwardWeights: WeightCopies<T>
    /// `[W_ih | W_hh]`, (gateCount·H, in′ + H) with W_hh from column in′ (in rounded up to whole
    /// panels), as panels for the backward's input and hidden-state gradients; valid while active.
    public let backwardWeights: WeightCopies<T>
    /// Both, for activating them together.
    public var weightCopies: [WeightCopies<T>] { [forwardWeights, backwardWeights] }

    public init(store: ParameterStore<T>, prefix: String, layerIndex: Int, kind: RecurrentCellKind,
                inputSize: Int, hiddenSize: Int, bias: Bool) {
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let rows = kind.gateCount * hiddenSize
        weightIH = store.add("\(prefix)weight_ih_l\(layerIndex)", shape: [rows, inputSize])
        weightHH = store.add("\(prefix)weight_hh_l\(layerIndex)", shape: [rows, hiddenSize])
        biasIH = bias ? store.add("\(prefix)bias_ih_l\(layerIndex)", shape: [rows]) : nil
        biasHH = bias ? store.add("\(prefix)bias_hh_l\(layerIndex)", shape: [rows]) : nil
        forwardWeights = WeightCopies(rows: inputSize + hiddenSize, columns: rows,
                                      blocks: [.init(weightIH), .init(weightHH, row: inputSize)])
        let hiddenColumn = Self.backwardHiddenColumn(inputSize: inputSize)
        backwardWeights = WeightCopies(rows: rows, columns: hiddenColumn + hiddenSize,
                                       blocks: [.init(weightIH, transposed: false),
                                                .init(weightHH, column: hiddenColumn, transposed: false)])
    }

    var gateRows: Int { kind.gateCount * hiddenSize }

    /// Where W_hh starts in `backwardWeights`: after W_ih, on a panel's first column, so that
    /// each part is whole panels.
    static func backwardHiddenColumn(inputSize: Int) -> Int {
        let width = PanelMatrix<T>.defaultWidth
        return (inputSize + width - 1) / width * width
    }

    /// PyTorch's RNN default: every weight and bias U(±1/√H).
    public func initializeDefault(store: ParameterStore<T>, random: CounterRandom, stream: UInt64) {
        let bound = 1 / T(hiddenSize).squareRoot()
        for slot in [weightIH, weightHH, biasIH, biasHH].compactMap({ $0 }) {
            store.initializeUniform(slot, bound: bound, random: random, stream: stream)
        }
    }

    /// `out (B×G) = x·W_ihᵀ + b_ih` (+ `h·W_hhᵀ + b_hh` when `hidden` is given and `separate` is nil).
    /// With `separate`, the hidden part goes there instead (the GRU needs it apart). Uses the
    /// transposed copies of the weights while they are active.
    /// With `rowScratch` (B·(in + H) values) and no `separate`, the transposed product is one
    /// product over the rows `[x | h]` when OpenBLAS computes it (16×1024×390: 133 → 118 µs in
    /// the training step). libxsmm runs the two products apart faster than the fused one: its
    /// kernel for the long inner dimension 390 re-reads a weight panel that no longer fits in L1.
    /// C loop, 16 rows (dnc-paper), µs: fused 16×1024×390 232, apart 16×1024×134 48 plus
    /// 16×1024×256 (beta 1) 93. In the training step (`dnc-bench --only roofline-dnc-paper`,
    /// five processes each, medians) dnc-paper's controller products took 23.2 ms fused and
    /// 20.2 ms apart (README, Performance: "The memories' A·Bᵀ products in libxsmm").
    /// libxsmm reads the copy as panels (`PanelMatrix`: the weights come back from beyond L2
    /// every step, and panels stream in sequence).
    func gatePreactivations(store: ParameterStore<T>, input: UnsafePointer<T>, hidden: UnsafePointer<T>,
                            batch: Int, into out: UnsafeMutablePointer<T>, separateHidden: UnsafeMutablePointer<T>? = nil,
                            rowScratch: UnsafeMutablePointer<T>? = nil) {
        let outer = ProductAccounting.enter(.controller); defer { ProductAccounting.leave(outer) }
        let g = gateRows
        let target = separateHidden ?? out
        let fused = separateHidden == nil && rowScratch != nil
            && ProductPath.choose(transA: false, transB: false, m: batch, n: g, k: inputSize + hiddenSize,
                                  alphaIsOne: true, betaIsZeroOrOne: true) == .openblas
        if fused, let transposed = forwardWeights.pointer, let rows = rowScratch {
            let width = inputSize + hiddenSize
            for b in 0..<batch {
                (rows + b * width).update(from: input + b * inputSize, count: inputSize)
                (rows + b * width + inputSize).update(from: hidden + b * hiddenSize, count: hiddenSize)
            }
            Kernels.gemm(m: batch, n: g, k: width, a: rows, b: transposed, beta: 0, c: out)
        } else if PanelMatrix<T>.pay(rows: batch, inner: inputSize), PanelMatrix<T>.pay(rows: batch, inner: hiddenSize),
                  let panels = forwardWeights.panels {
            Kernels.gemm(m: batch, a: input, lda: inputSize, panels: panels.rows(0..<inputSize), beta: 0, c: out, ldc: g)
            Kernels.gemm(m: batch, a: hidden, lda: hiddenSize, panels: panels.rows(inputSize..<inputSize + hiddenSize),
                         beta: separateHidden == nil ? 1 : 0, c: target, ldc: g)
        } else if let transposed = forwardWeights.pointer {
            Kernels.gemm(m: batch, n: g, k: inputSize, a: input, b: transposed, beta: 0, c: out)
            Kernels.gemm(m: batch, n: g, k: hiddenSize, a: hidden, b: transposed + inputSize * g,
                         beta: separateHidden == nil ? 1 : 0, c: target)
        } else {
            Kernels.gemm(transB: true, m: batch, n: g, k: inputSize, a: input, b: store.values(weightIH), beta: 0, c: out)
            Kernels.gemm(transB: true, m: batch, n: g, k: hiddenSize, a: hidden, b: store.values(weightHH),
                         beta: separateHidden == nil ? 1 : 0, c: target)
        }
        if let biasIH { Kernels.addRowVector(store.values(biasIH), to: out, rows: batch, columns: g) }
        if let biasHH { Kernels.addRowVector(store.values(biasHH), to: target, rows: batch, columns: g) }
    }

    /// Input and hidden-state gradients of the gate pre-activations: `dInput` (B×in) and
    /// `dHidden` (B×H) are overwritten. `dGatesHidden` defaults to `dGatesInput` (equal except in
    /// the GRU, where r scales the hidden part of n). Parameter gradients are left to
    /// `accumulateWeightGradients`, which does them for many steps in one product.
    func gateBackward(store: ParameterStore<T>, batch: Int,
                      dGatesInput: UnsafePointer<T>, dGatesHidden: UnsafePointer<T>? = nil,
                      dInput: UnsafeMutablePointer<T>, dHidden: UnsafeMutablePointer<T>) {
        let outer = ProductAccounting.enter(.controller); defer { ProductAccounting.leave(outer) }
        let g = gateRows
        // (The path first: asking for a copy builds it.)
        if batch <= 16, ProductPath.choose(transA: false, transB: false, m: batch, n: inputSize, k: g,
                                           alphaIsOne: true, betaIsZeroOrOne: true) == .openblas,
           let transposed = forwardWeights.pointer {
            // A few rows by (Wᵀ)ᵀ run 10–15% faster than by W in OpenBLAS (16×256×1024: 94 →
            // 82 µs); where libxsmm takes `A·B` (always, by default) it is faster than either,
            // and faster still from panels of W (see `PanelMatrix`).
            Kernels.gemm(transB: true, m: batch, n: inputSize, k: g, a: dGatesInput, b: transposed, beta: 0, c: dInput)
            Kernels.gemm(transB: true, m: batch, n: hiddenSize, k: g, a: dGatesHidden ?? dGatesInput,
                         b: transposed + inputSize * g, beta: 0, c: dHidden)
            return
        }
        if PanelMatrix<T>.pay(rows: batch, inner: g), let panels = backwardWeights.panels {
            let hiddenColumn = Self.backwardHiddenColumn(inputSize: inputSize)
            Kernels.gemm(m: batch, a: dGatesInput, lda: g, panels: panels.columns(0..<inputSize), beta: 0,
                         c: dInput, ldc: inputSize)
            Kernels.gemm(m: batch, a: dGatesHidden ?? dGatesInput, lda: g,
                         panels: panels.columns(hiddenColumn..<hiddenColumn + hiddenSize), beta: 0, c: dHidden, ldc: hiddenSize)
            return
        }
        Kernels.gemm(m: batch, n: inputSize, k: g, a: dGatesInput, b: store.values(weightIH), beta: 0, c: dInput)
        Kernels.gemm(m: batch, n: hiddenSize, k: g, a: dGatesHidden ?? dGatesInput, b: store.values(weightHH), beta: 0, c: dHidden)
    }

    /// dW_ih += dZᵀ·X, dW_hh += dZ_hᵀ·H_prev and the bias sums, over `rows` rows (all samples of
    /// several consecutive steps: one large product instead of one small one per step).
    func accumulateWeightGradients(store: ParameterStore<T>, rows: Int, inputs: UnsafePointer<T>,
                                   hiddenPrevious: UnsafePointer<T>, dGatesInput: UnsafePointer<T>,
                                   dGatesHidden: UnsafePointer<T>? = nil) {
        let outer = ProductAccounting.enter(.weightGradients); defer { ProductAccounting.leave(outer) }
        let g = gateRows
        let dHiddenGates = dGatesHidden ?? dGatesInput
        Kernels.gemm(transA: true, m: g, n: inputSize, k: rows, a: dGatesInput, b: inputs, beta: 1, c: store.gradients(weightIH))
        Kernels.gemm(transA: true, m: g, n: hiddenSize, k: rows, a: dHiddenGates, b: hiddenPrevious, beta: 1, c: store.gradients(weightHH))
        if let biasIH { Kernels.accumulateColumnSums(dGatesInput, rows: rows, columns: g, into: store.gradients(biasIH)) }
        if let biasHH { Kernels.accumulateColumnSums(dHiddenGates, rows: rows, columns: g, into: store.gradients(biasHH)) }
    }
}

import DNCNumerics
import DNCLayers

/// The linear layer(s) mapping a controller output to a memory's raw interface vector ẑ (B×S):
/// one `<prefix>interface_weights` (S, in), or, with independent linears, one `<prefix><name>`
/// per field block (pytorch-dnc's names, docs/pytorch-dnc.md, Parameter names). Each layer writes its column block of ẑ
/// directly (ldc = S), so independent layers need no copy. Shared by the dense and sparse memories.
struct InterfaceProjection<T: Real>: Sendable {
    let inputSize: Int
    /// S, the width of ẑ.
    let size: Int
    let linears: [Linear<T>]
    /// Column offset in ẑ of each linear's output.
    let blockOffsets: [Int]
    /// All weights transposed side by side, (in, S): the forward is one product even with
    /// independent linears (see `WeightCopies`).
    let transposed: WeightCopies<T>
    /// All weights as they are, stacked, (S, in), as panels: the input gradient is one product
    /// even with independent linears.
    let stacked: WeightCopies<T>
    var weightCopies: [WeightCopies<T>] { [transposed, stacked] }

    /// `blocks` are the fields' (name, offset, length) in ẑ, used when `independent`.
    init(store: ParameterStore<T>, prefix: String, inputSize: Int, size: Int, independent: Bool,
         blocks: [(name: String, offset: Int, length: Int)]) {
        self.inputSize = inputSize
        self.size = size
        if independent {
            linears = blocks.map { Linear(store: store, name: prefix + $0.name, inputSize: inputSize, outputSize: $0.length) }
            blockOffsets = blocks.map(\.offset)
        } else {
            linears = [Linear(store: store, name: prefix + "interface_weights", inputSize: inputSize, outputSize: size)]
            blockOffsets = [0]
        }
        transposed = WeightCopies(rows: inputSize, columns: size,
                                       blocks: zip(linears, blockOffsets).map { .init($0.weight, column: $1) })
        stacked = WeightCopies(rows: size, columns: inputSize,
                               blocks: zip(linears, blockOffsets).map { .init($0.weight, row: $1, transposed: false) })
    }

    /// pytorch-dnc's initialisation (docs/dense-memory.md, Initialisation): weights Kaiming-uniform U(±√(6/in)), biases U(±1/√in).
    func initializeDefault(store: ParameterStore<T>, random: CounterRandom, stream: UInt64) {
        let fanIn = T(inputSize)
        for linear in linears {
            store.initializeUniform(linear.weight, bound: (6 / fanIn).squareRoot(), random: random, stream: stream)
            if let bias = linear.bias { store.initializeUniform(bias, bound: 1 / fanIn.squareRoot(), random: random, stream: stream) }
        }
    }

    /// ẑ = interface(x): input B×in, raw B×S (written).
    func forward(store: ParameterStore<T>, input x: UnsafePointer<T>, batch: Int, raw z: UnsafeMutablePointer<T>) {
        let outer = ProductAccounting.enter(.interface); defer { ProductAccounting.leave(outer) }
        // From panels where libxsmm runs the product (see `PanelMatrix`), else row-major. (The
        // path first: asking for a copy builds it.)
        var copied = false
        if PanelMatrix<T>.pay(rows: batch, inner: inputSize), let panels = transposed.panels {
            Kernels.gemm(m: batch, a: x, lda: inputSize, panels: panels, beta: 0, c: z, ldc: size)
            copied = true
        } else if let transposedWeights = transposed.pointer {
            Kernels.gemm(m: batch, n: size, k: inputSize, a: x, b: transposedWeights, beta: 0, c: z)
            copied = true
        }
        for k in 0..<linears.count {
            let linear = linears[k], offset = blockOffsets[k], width = linear.outputSize
            if !copied {
                Kernels.gemm(transB: true, m: batch, n: width, k: inputSize, a: x, b: store.values(linear.weight),
                             beta: 0, c: z + offset, ldc: size)
            }
            if let bias = linear.bias {
                let bv = store.values(bias)
                for row in 0..<batch {
                    let zr = z + row * size + offset
                    for j in 0..<width { zr[j] += bv[j] }
                }
            }
        }
    }

    /// Backward of `forward`: accumulates the parameter gradients and overwrites
    /// `inputGradient` (B×in) from `rawGradient` dℓ/dẑ (B×S).
    func backward(store: ParameterStore<T>, input x: UnsafePointer<T>, rawGradient dz: UnsafePointer<T>, batch: Int,
                  inputGradient dx: UnsafeMutablePointer<T>) {
        let outer = ProductAccounting.enter(.interface); defer { ProductAccounting.leave(outer) }
        // One product by the stacked panels where libxsmm runs it; else, with independent
        // linears, one by the transposed copy (when active) instead of ten.
        let stackedPanels = PanelMatrix<T>.pay(rows: batch, inner: size) ? stacked.panels : nil
        let fusedInputGradient = stackedPanels == nil && linears.count > 1 ? transposed.pointer : nil
        for k in 0..<linears.count {
            let linear = linears[k], offset = blockOffsets[k], width = linear.outputSize
            ProductAccounting.within(.weightGradients) {
                Kernels.gemm(transA: true, m: width, n: inputSize, k: batch, a: dz + offset, lda: size, b: x,
                             beta: 1, c: store.gradients(linear.weight))
            }
            if let bias = linear.bias {
                let gb = store.gradients(bias)
                for row in 0..<batch {
                    let dzr = dz + row * size + offset
                    for j in 0..<width { gb[j] += dzr[j] }
                }
            }
            if stackedPanels == nil && fusedInputGradient == nil {
                Kernels.gemm(m: batch, n: inputSize, k: width, a: dz + offset, lda: size, b: store.values(linear.weight),
                             beta: k == 0 ? 0 : 1, c: dx)
            }
        }
        if let stackedPanels {
            Kernels.gemm(m: batch, a: dz, lda: size, panels: stackedPanels, beta: 0, c: dx, ldc: inputSize)
        } else if let fusedInputGradient {
            Kernels.gemm(transB: true, m: batch, n: inputSize, k: size, a: dz, b: fusedInputGradient, beta: 0, c: dx)
        }
    }
}

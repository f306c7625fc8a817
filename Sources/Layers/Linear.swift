import DNCNumerics

/// `y = x · Wᵀ + b` with PyTorch's layout: `weight` is (out, in), `bias` is (out).
public struct Linear<T: Real>: Sendable {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: ParameterSlot
    public let bias: ParameterSlot?

    /// Registers `<name>.weight` and (if `bias`) `<name>.bias` in `store`.
    public init(store: ParameterStore<T>, name: String, inputSize: Int, outputSize: Int, bias: Bool = true) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = store.add("\(name).weight", shape: [outputSize, inputSize])
        self.bias = bias ? store.add("\(name).bias", shape: [outputSize]) : nil
    }

    /// PyTorch's `nn.Linear` default: U(±1/√in) for weight and bias.
    public func initializeDefault(store: ParameterStore<T>, random: CounterRandom, stream: UInt64) {
        let bound = 1 / T(Swift.max(inputSize, 1)).squareRoot()
        store.initializeUniform(weight, bound: bound, random: random, stream: stream)
        if let bias { store.initializeUniform(bias, bound: bound, random: random, stream: stream) }
    }

    /// input: rows×in, output: rows×out (overwritten).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(store: ParameterStore<T>, input: UnsafePointer<T>, rows: Int, output: UnsafeMutablePointer<T>) {
        Kernels.gemm(transB: true, m: rows, n: outputSize, k: inputSize,
                     a: input, b: store.values(weight), beta: 0, c: output)
        if let bias { Kernels.addRowVector(store.values(bias), to: output, rows: rows, columns: outputSize) }
    }

    /// Accumulates dW and db into the store's gradients. `inputGradient` (rows×in), when given,
    /// is overwritten, or accumulated into when `accumulateInput` is true.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(store: ParameterStore<T>, input: UnsafePointer<T>, outputGradient: UnsafePointer<T>, rows: Int,
                         inputGradient: UnsafeMutablePointer<T>?, accumulateInput: Bool = false) {
        ProductAccounting.within(.weightGradients) {
            Kernels.gemm(transA: true, m: outputSize, n: inputSize, k: rows,
                         a: outputGradient, b: input, beta: 1, c: store.gradients(weight))
        }
        if let bias { Kernels.accumulateColumnSums(outputGradient, rows: rows, columns: outputSize, into: store.gradients(bias)) }
        if let inputGradient {
            Kernels.gemm(m: rows, n: inputSize, k: outputSize, a: outputGradient, b: store.values(weight),
                         beta: accumulateInput ? 1 : 0, c: inputGradient)
        }
    }
}

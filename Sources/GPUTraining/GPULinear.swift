import DNCGPU
import DNCLayers
import DNCNumerics

/// The device twin of DNCLayers.Linear (same ParameterSlots in DeviceParameters):
/// `y = x·Wᵀ + b` with W (out, in) as PyTorch stores it, read in place by the product's
/// transpose flag (no transposed copy).
public struct GPULinear<T: Real> {
    public let linear: Linear<T>
    public let parameters: DeviceParameters<T>
    public var inputSize: Int { linear.inputSize }
    public var outputSize: Int { linear.outputSize }

    public init(_ linear: Linear<T>, parameters: DeviceParameters<T>) {
        self.linear = linear
        self.parameters = parameters
    }

    /// output (rows×out, row stride ldOutput default out) = input (rows×in, row stride ldInput default in) · Wᵀ + b:
    /// one launch, the bias added by the product.
    public func forward(input: DevicePointer, rows: Int, output: DevicePointer, ldInput: Int? = nil, ldOutput: Int? = nil) throws {
        try GPUProducts.gemm(parameters.device, transB: true, m: rows, n: outputSize, k: inputSize, alpha: T(1),
                             a: input, lda: ldInput ?? inputSize, b: parameters.values(linear.weight).pointer, ldb: inputSize,
                             beta: T(0), c: output, ldc: ldOutput ?? outputSize,
                             bias: linear.bias.map { parameters.values($0).pointer })
    }

    /// dW += dYᵀ·X, db += Σ dY (into parameters.gradients); inputGradient (rows×in, row stride
    /// ldInputGradient default in) = dY·W (overwritten, or += when accumulateInput).
    public func backward(input: DevicePointer, outputGradient: DevicePointer, rows: Int, inputGradient: DevicePointer?,
                         accumulateInput: Bool = false, ldInput: Int? = nil, ldOutputGradient: Int? = nil,
                         ldInputGradient: Int? = nil) throws {
        let device = parameters.device
        let ldDY = ldOutputGradient ?? outputSize
        try GPUProducts.gemm(device, transA: true, m: outputSize, n: inputSize, k: rows, alpha: T(1),
                             a: outputGradient, lda: ldDY, b: input, ldb: ldInput ?? inputSize,
                             beta: T(1), c: parameters.gradients(linear.weight).pointer)
        if let bias = linear.bias {
            try GPUProducts.accumulateColumnSums(device, outputGradient, rows: rows, columns: outputSize, ld: ldDY,
                                                 into: parameters.gradients(bias).pointer, as: T.self)
        }
        if let inputGradient {
            try GPUProducts.gemm(device, m: rows, n: inputSize, k: outputSize, alpha: T(1), a: outputGradient, lda: ldDY,
                                 b: parameters.values(linear.weight).pointer, ldb: inputSize,
                                 beta: accumulateInput ? T(1) : T(0), c: inputGradient, ldc: ldInputGradient ?? inputSize)
        }
    }
}

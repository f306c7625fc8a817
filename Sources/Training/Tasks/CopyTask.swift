import DNCNumerics

/// The copy task (tasks.md §2): a random binary sequence, an end marker, then the sequence must
/// be reproduced while the input is silent.
///
/// Data are a pure function of (seed, step, global sample index), so a batch is the same however
/// its samples are split between processes.
public struct CopyTask: Sendable {
    /// X: input width = output width; X − 1 data bits plus the marker channel.
    public let inputSize: Int
    public let seed: UInt64

    public init(inputSize: Int, seed: UInt64) {
        precondition(inputSize >= 2, "copy task input size must be at least 2 (one data bit and the marker), got \(inputSize)")
        self.inputSize = inputSize
        self.seed = seed
    }

    /// One batch, time-major. Shapes: `inputs`, `targets` and `outputMask` are (2L+1, B, X).
    /// `outputMask` is 1 on the data channels of the output phase (where the copy is judged).
    public struct Batch: Sendable {
        public let length: Int
        public var inputs: Tensor<Float>
        public var targets: Tensor<Float>
        public var outputMask: Tensor<Float>
    }

    private static let lengthStream: UInt64 = 0x4C45_4E00_0000_0000  // "LEN"
    private static let bitsStream: UInt64 = 0x4249_5400_0000_0000    // "BIT"

    /// L ~ Uniform{1 … maxLength} for training step `step`.
    public func length(step: Int, maxLength: Int) -> Int {
        CounterRandom(seed: seed).integer(below: maxLength, stream: Self.lengthStream, index: UInt64(step)) + 1
    }

    /// The batch of step `step` made of global samples `firstSample ..< firstSample + count`.
    public func batch(step: Int, length: Int, firstSample: Int, count: Int) -> Batch {
        let random = CounterRandom(seed: seed)
        let x = inputSize, steps = 2 * length + 1
        var inputs = Tensor<Float>(shape: [steps, count, x])
        var targets = Tensor<Float>(shape: [steps, count, x])
        var mask = Tensor<Float>(shape: [steps, count, x])
        let stream = Self.bitsStream | UInt64(step)
        for b in 0..<count {
            let sample = UInt64(firstSample + b)
            for t in 0..<length {
                for j in 0..<(x - 1) {
                    let draw = sample * UInt64(length * (x - 1)) + UInt64(t * (x - 1) + j)
                    let bit: Float = random.bernoulli(stream: stream, index: draw, probability: 0.5) ? 1 : 0
                    inputs[flat: (t * count + b) * x + j] = bit
                    targets[flat: ((t + length + 1) * count + b) * x + j] = bit
                    mask[flat: ((t + length + 1) * count + b) * x + j] = 1
                }
            }
            inputs[flat: (length * count + b) * x + x - 1] = 1
        }
        return Batch(length: length, inputs: inputs, targets: targets, outputMask: mask)
    }
}

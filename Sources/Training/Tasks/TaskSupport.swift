import DNCNumerics

/// Shared machinery of the tasks: random streams keyed by (task, purpose, step), per-sample draw
/// indices, the BCE term and the shape checks of `evaluate`.
enum TaskSupport {
    /// The stream of `tag` (a 24-bit purpose tag in the top three bytes) at `step`: one stream per
    /// (purpose, step), so draws of different steps and purposes never overlap.
    static func stream(_ tag: UInt64, step: Int) -> UInt64 {
        precondition(step >= 0 && step < 1 << 40, "step \(step) is outside 0..<2^40")
        return tag << 40 | UInt64(step)
    }

    /// Draw `k` of global sample `sample`: samples own disjoint index ranges of 2^32 draws, so a
    /// sample's draws do not depend on the batch it is generated in.
    static func index(sample: Int, _ k: Int) -> UInt64 {
        precondition(sample >= 0 && k >= 0 && k < 1 << 32, "draw \(k) of sample \(sample) is out of range")
        return UInt64(sample) << 32 | UInt64(k)
    }

    /// A fair bit as 0 or 1.
    static func bit(_ random: CounterRandom, stream: UInt64, index: UInt64) -> Float {
        random.bernoulli(stream: stream, index: index, probability: 0.5) ? 1 : 0
    }

    /// BCE with logits in Double: ℓ = max(z, 0) − z·y + ln(1 + e^{−|z|}), dℓ/dz = σ(z) − y
    /// (the same stable form as `Losses.binaryCrossEntropyWithLogits`).
    @inline(__always)
    static func bce(_ z: Double, _ y: Double) -> (loss: Double, slope: Double) {
        let e = Double.exactExp(-Swift.abs(z))
        let sigmoid = z >= 0 ? 1 / (1 + e) : e / (1 + e)
        return (Swift.max(z, 0) - z * y + Double.exactLog1p(e), sigmoid - y)
    }

    /// The bit a logit predicts: 1 when z > 0 (σ > ½; PyTorch's round maps ½ to 0 as well).
    @inline(__always)
    static func predictedBit(_ z: Float) -> Float { z > 0 ? 1 : 0 }

    /// Checks the batch and logits shapes before scoring.
    static func checkLogits(_ logits: Tensor<Float>, batch: TaskBatch, outputSize: Int, globalBatchSize: Int, task: String) {
        let expected = [batch.steps, batch.count, outputSize]
        precondition(logits.shape == expected, "\(task): logits \(logits.shape) for a batch that needs \(expected)")
        precondition(globalBatchSize >= batch.count && globalBatchSize > 0,
                     "\(task): global batch size \(globalBatchSize) is smaller than the local batch \(batch.count)")
    }
}

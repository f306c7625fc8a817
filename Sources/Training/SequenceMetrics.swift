import DNCNumerics

/// Honest metrics for binary sequence outputs: judged only where `mask` is 1.
public enum SequenceMetrics {
    /// Returns (bit errors per sequence, masked bit accuracy). A bit is predicted 1 when its
    /// logit is > 0 (σ > ½; PyTorch's round maps ½ to 0 as well). Layout (T, B, X).
    public static func bitErrors(logits: Tensor<Float>, targets: Tensor<Float>, mask: Tensor<Float>) -> (perSequence: Double, accuracy: Double) {
        let batch = logits.shape[1]
        var errors = 0.0, judged = 0.0
        for i in 0..<logits.count where mask[flat: i] != 0 {
            judged += 1
            if (logits[flat: i] > 0 ? 1 : 0) != targets[flat: i] { errors += 1 }
        }
        return (errors / Double(batch), judged == 0 ? 1 : 1 - errors / judged)
    }
}

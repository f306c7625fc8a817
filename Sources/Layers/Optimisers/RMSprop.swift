import DNCNumerics

/// `torch.optim.RMSprop`: with d = g + λ·θ, s ← α·s + (1 − α)·d²; centred (the DNC paper's
/// variant) a ← lerp(a, d, 1 − α) and r = √(s − a²) + ε, else r = √s + ε; then with momentum
/// b ← μ·b + d/r, θ ← θ − lr·b, without θ ← θ − lr·d/r.
/// State: "square_avg" (+ "momentum_buffer" when μ > 0, + "grad_avg" when centred).
///
/// One deliberate difference: s − a² is clamped at 0 before the root. It is ≥ 0 in exact
/// arithmetic; rounding can take it a hair below for a constant gradient, where PyTorch would
/// produce NaN.
public final class RMSprop<T: Real>: Optimiser {
    public let name = "rmsprop"
    public var learningRate: Double { didSet { checkLearningRate(learningRate) } }
    public let alpha: Double, eps: Double, weightDecay: Double, momentum: Double, centered: Bool
    private let state: StateBuffers<T>
    private let momentumIndex: Int, averageIndex: Int

    public init(learningRate: Double = 1e-2, alpha: Double = 0.99, eps: Double = 1e-8, weightDecay: Double = 0,
                momentum: Double = 0, centered: Bool = false) throws {
        try requireHyperparameter("RMSprop", "lr", learningRate, learningRate >= 0, "≥ 0")
        try requireHyperparameter("RMSprop", "eps", eps, eps >= 0, "≥ 0")
        try requireHyperparameter("RMSprop", "momentum", momentum, momentum >= 0, "≥ 0")
        try requireHyperparameter("RMSprop", "weight_decay", weightDecay, weightDecay >= 0, "≥ 0")
        try requireHyperparameter("RMSprop", "alpha", alpha, alpha >= 0, "≥ 0")
        (self.learningRate, self.alpha, self.eps, self.weightDecay, self.momentum, self.centered) =
            (learningRate, alpha, eps, weightDecay, momentum, centered)
        var buffers: [(name: String, initial: T)] = [("square_avg", 0)]
        momentumIndex = buffers.count
        if momentum > 0 { buffers.append(("momentum_buffer", 0)) }
        averageIndex = buffers.count
        if centered { buffers.append(("grad_avg", 0)) }
        state = StateBuffers(algorithm: name, buffers: buffers)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(store: ParameterStore<T>) {
        let n = store.count
        _ = state.begin(count: n)
        let p = store.values, g = store.gradients
        let lr = T(learningRate), lambda = T(weightDecay), decays = weightDecay != 0
        let a = T(alpha), w = T(1 - alpha), epsilon = T(eps), mu = T(momentum), hasMomentum = momentum > 0
        // Unused buffers alias the first one; the flags keep them from being touched.
        let s = state[0], b = hasMomentum ? state[momentumIndex] : s, mean = centered ? state[averageIndex] : s
        for i in 0..<n {
            let d = decays ? g[i] + lambda * p[i] : g[i]
            s[i] = s[i] * a + w * d * d
            var r: T
            if centered {
                mean[i] = lerp(mean[i], d, w)
                r = Swift.max(s[i] - mean[i] * mean[i], 0).squareRoot()
            } else {
                r = s[i].squareRoot()
            }
            r += epsilon
            if hasMomentum {
                b[i] = b[i] * mu + d / r
                p[i] -= lr * b[i]
            } else {
                p[i] -= lr * d / r
            }
        }
    }

    public func exportState() -> OptimiserState<T> { state.export() }
    public func importState(_ state: OptimiserState<T>) throws { try self.state.load(state) }
}

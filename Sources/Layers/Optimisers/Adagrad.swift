import DNCNumerics

/// `torch.optim.Adagrad`: with d = g + λ·θ, S ← S + d², θ ← θ − lr/(1 + (t − 1)·η) · d / (√S + ε),
/// η the learning-rate decay. State: "sum", starting at `initialAccumulatorValue`.
public final class Adagrad<T: Real>: Optimiser {
    public let name = "adagrad"
    public var learningRate: Double { didSet { checkLearningRate(learningRate) } }
    public let learningRateDecay: Double, weightDecay: Double, initialAccumulatorValue: Double, eps: Double
    private let state: StateBuffers<T>

    public init(learningRate: Double = 1e-2, learningRateDecay: Double = 0, weightDecay: Double = 0,
                initialAccumulatorValue: Double = 0, eps: Double = 1e-10) throws {
        try requireHyperparameter("Adagrad", "lr", learningRate, learningRate >= 0, "≥ 0")
        try requireHyperparameter("Adagrad", "lr_decay", learningRateDecay, learningRateDecay >= 0, "≥ 0")
        try requireHyperparameter("Adagrad", "weight_decay", weightDecay, weightDecay >= 0, "≥ 0")
        try requireHyperparameter("Adagrad", "initial_accumulator_value", initialAccumulatorValue, initialAccumulatorValue >= 0, "≥ 0")
        try requireHyperparameter("Adagrad", "eps", eps, eps >= 0, "≥ 0")
        (self.learningRate, self.learningRateDecay, self.weightDecay, self.initialAccumulatorValue, self.eps) =
            (learningRate, learningRateDecay, weightDecay, initialAccumulatorValue, eps)
        state = StateBuffers(algorithm: name, buffers: [("sum", T(initialAccumulatorValue))])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(store: ParameterStore<T>) {
        let n = store.count, t = Double(state.begin(count: n))
        let p = store.values, g = store.gradients
        let lambda = T(weightDecay), decays = weightDecay != 0
        let stepSize = T(learningRate / (1 + (t - 1) * learningRateDecay)), epsilon = T(eps)
        let sum = state[0]
        for i in 0..<n {
            let d = decays ? g[i] + lambda * p[i] : g[i]
            sum[i] += d * d
            p[i] -= stepSize * d / (sum[i].squareRoot() + epsilon)
        }
    }

    public func exportState() -> OptimiserState<T> { state.export() }
    public func importState(_ state: OptimiserState<T>) throws { try self.state.load(state) }
}

/// `torch.optim.Adadelta`: with d = g + λ·θ, s ← ρ·s + (1 − ρ)·d², Δ = √(a + ε)/√(s + ε) · d,
/// a ← ρ·a + (1 − ρ)·Δ², θ ← θ − lr·Δ. State: "square_avg", "acc_delta".
public final class Adadelta<T: Real>: Optimiser {
    public let name = "adadelta"
    public var learningRate: Double { didSet { checkLearningRate(learningRate) } }
    public let rho: Double, eps: Double, weightDecay: Double
    private let state: StateBuffers<T>

    public init(learningRate: Double = 1, rho: Double = 0.9, eps: Double = 1e-6, weightDecay: Double = 0) throws {
        try requireHyperparameter("Adadelta", "lr", learningRate, learningRate >= 0, "≥ 0")
        try requireHyperparameter("Adadelta", "rho", rho, rho >= 0 && rho <= 1, "in [0, 1]")
        try requireHyperparameter("Adadelta", "eps", eps, eps >= 0, "≥ 0")
        try requireHyperparameter("Adadelta", "weight_decay", weightDecay, weightDecay >= 0, "≥ 0")
        (self.learningRate, self.rho, self.eps, self.weightDecay) = (learningRate, rho, eps, weightDecay)
        state = StateBuffers(algorithm: name, buffers: [("square_avg", 0), ("acc_delta", 0)])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(store: ParameterStore<T>) {
        let n = store.count
        _ = state.begin(count: n)
        let p = store.values, g = store.gradients
        let lr = T(learningRate), lambda = T(weightDecay), decays = weightDecay != 0
        let r = T(rho), w = T(1 - rho), epsilon = T(eps)
        let s = state[0], a = state[1]
        for i in 0..<n {
            let d = decays ? g[i] + lambda * p[i] : g[i]
            s[i] = s[i] * r + w * d * d
            let delta = (a[i] + epsilon).squareRoot() / (s[i] + epsilon).squareRoot() * d
            a[i] = a[i] * r + w * delta * delta
            p[i] -= lr * delta
        }
    }

    public func exportState() -> OptimiserState<T> { state.export() }
    public func importState(_ state: OptimiserState<T>) throws { try self.state.load(state) }
}

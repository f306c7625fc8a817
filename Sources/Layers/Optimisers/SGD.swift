import DNCNumerics

/// `torch.optim.SGD`: with d = g + λ·θ,
/// b ← d at the first step, else μ·b + (1 − τ)·d;  θ ← θ − lr·(Nesterov ? d + μ·b : b)
/// (plain θ ← θ − lr·d without momentum). State: "momentum_buffer" when μ ≠ 0.
public final class SGD<T: Real>: Optimiser {
    public let name = "sgd"
    public var learningRate: Double { didSet { checkLearningRate(learningRate) } }
    public let momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool
    private let state: StateBuffers<T>

    public init(learningRate: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) throws {
        try requireHyperparameter("SGD", "lr", learningRate, learningRate >= 0, "≥ 0")
        try requireHyperparameter("SGD", "momentum", momentum, momentum >= 0, "≥ 0")
        try requireHyperparameter("SGD", "dampening", dampening, true, "finite")
        try requireHyperparameter("SGD", "weight_decay", weightDecay, weightDecay >= 0, "≥ 0")
        if nesterov {
            try requireHyperparameter("SGD", "momentum", momentum, momentum > 0, "> 0 with Nesterov momentum")
            try requireHyperparameter("SGD", "dampening", dampening, dampening == 0, "0 with Nesterov momentum")
        }
        (self.learningRate, self.momentum, self.dampening, self.weightDecay, self.nesterov) =
            (learningRate, momentum, dampening, weightDecay, nesterov)
        state = StateBuffers(algorithm: name, buffers: momentum != 0 ? [("momentum_buffer", 0)] : [])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(store: ParameterStore<T>) {
        let n = store.count, first = state.begin(count: n) == 1
        let p = store.values, g = store.gradients
        let lr = T(learningRate), lambda = T(weightDecay), decays = weightDecay != 0
        guard momentum != 0 else {
            for i in 0..<n { p[i] -= lr * (decays ? g[i] + lambda * p[i] : g[i]) }
            return
        }
        let mu = T(momentum), keep = T(1 - dampening), b = state[0]
        for i in 0..<n {
            let d = decays ? g[i] + lambda * p[i] : g[i]
            b[i] = first ? d : mu * b[i] + keep * d
            p[i] -= lr * (nesterov ? d + mu * b[i] : b[i])
        }
    }

    public func exportState() -> OptimiserState<T> { state.export() }
    public func importState(_ state: OptimiserState<T>) throws { try self.state.load(state) }
}

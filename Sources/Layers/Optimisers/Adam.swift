import DNCNumerics
import Foundation

/// `torch.optim.Adam` (L2 weight decay added to the gradient, not AdamW): with d = g + λ·θ,
/// m ← lerp(m, d, 1 − β₁), v ← β₂·v + (1 − β₂)·d², v̂ ← max(v̂, v) with AMSGrad (else v̂ = v),
/// θ ← θ − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε).
/// State: "exp_avg", "exp_avg_sq" (+ "max_exp_avg_sq" with AMSGrad).
public final class Adam<T: Real>: Optimiser {
    public let name = "adam"
    public var learningRate: Double { didSet { checkLearningRate(learningRate) } }
    public let beta1: Double, beta2: Double, eps: Double, weightDecay: Double, amsgrad: Bool
    private let state: StateBuffers<T>

    public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                weightDecay: Double = 0, amsgrad: Bool = false) throws {
        try requireHyperparameter("Adam", "lr", learningRate, learningRate >= 0, "≥ 0")
        try requireHyperparameter("Adam", "eps", eps, eps >= 0, "≥ 0")
        try requireHyperparameter("Adam", "beta1", betas.0, betas.0 >= 0 && betas.0 < 1, "in [0, 1)")
        try requireHyperparameter("Adam", "beta2", betas.1, betas.1 >= 0 && betas.1 < 1, "in [0, 1)")
        try requireHyperparameter("Adam", "weight_decay", weightDecay, weightDecay >= 0, "≥ 0")
        (self.learningRate, beta1, beta2, self.eps, self.weightDecay, self.amsgrad) =
            (learningRate, betas.0, betas.1, eps, weightDecay, amsgrad)
        state = StateBuffers(algorithm: name, buffers: [("exp_avg", 0), ("exp_avg_sq", 0)] + (amsgrad ? [("max_exp_avg_sq", 0)] : []))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(store: ParameterStore<T>) {
        let n = store.count, t = Double(state.begin(count: n))
        let p = store.values, g = store.gradients
        let lambda = T(weightDecay), decays = weightDecay != 0
        let stepSize = T(learningRate / (1 - pow(beta1, t))), correction2Root = T(pow(1 - pow(beta2, t), 0.5))
        let w1 = T(1 - beta1), b2 = T(beta2), w2 = T(1 - beta2), epsilon = T(eps)
        // Without AMSGrad the "maximum" is v itself.
        let m = state[0], v = state[1], vHat = amsgrad ? state[2] : state[1]
        if !amsgrad && !decays && T.self == Float.self {
            // The common case, four lanes at a time (the loop below does not vectorise: its
            // square root keeps a scalar errno path). The same arithmetic as below and as
            // `lerp`, lane by lane, so the same bits.
            let fp = UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
            let fg = UnsafeRawPointer(g).assumingMemoryBound(to: Float.self)
            let fm = UnsafeMutableRawPointer(m).assumingMemoryBound(to: Float.self)
            let fv = UnsafeMutableRawPointer(v).assumingMemoryBound(to: Float.self)
            let w1f = Float(w1), b2f = Float(b2), w2f = Float(w2), stepF = Float(stepSize)
            let rootF = Float(correction2Root), epsF = Float(epsilon), low = w1f < 0.5, oneMinusW1 = 1 - w1f
            var i = 0
            while i + 4 <= n {
                let d = UnsafeRawPointer(fg + i).loadUnaligned(as: SIMD4<Float>.self)
                let mOld = UnsafeRawPointer(fm + i).loadUnaligned(as: SIMD4<Float>.self)
                let vOld = UnsafeRawPointer(fv + i).loadUnaligned(as: SIMD4<Float>.self)
                let mi = low ? mOld + w1f * (d - mOld) : d - (d - mOld) * oneMinusW1
                let vi = vOld * b2f + w2f * d * d
                let pi = UnsafeRawPointer(fp + i).loadUnaligned(as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(fm + i).storeBytes(of: mi, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(fv + i).storeBytes(of: vi, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(fp + i).storeBytes(of: pi - stepF * mi / (vi.squareRoot() / rootF + epsF), as: SIMD4<Float>.self)
                i += 4
            }
            while i < n {
                let d = fg[i], mi = low ? fm[i] + w1f * (d - fm[i]) : d - (d - fm[i]) * oneMinusW1
                let vi = fv[i] * b2f + w2f * d * d
                fm[i] = mi; fv[i] = vi
                fp[i] -= stepF * mi / (vi.squareRoot() / rootF + epsF)
                i += 1
            }
            return
        }
        for i in 0..<n {
            let d = decays ? g[i] + lambda * p[i] : g[i]
            m[i] = lerp(m[i], d, w1)
            v[i] = v[i] * b2 + w2 * d * d
            if amsgrad { vHat[i] = Swift.max(vHat[i], v[i]) }
            p[i] -= stepSize * m[i] / (vHat[i].squareRoot() / correction2Root + epsilon)
        }
    }

    public func exportState() -> OptimiserState<T> { state.export() }
    public func importState(_ state: OptimiserState<T>) throws { try self.state.load(state) }
}

/// `torch.optim.Adamax`: with d = g + λ·θ, m ← lerp(m, d, 1 − β₁), u ← max(β₂·u, |d| + ε),
/// θ ← θ − lr/(1 − β₁ᵗ) · m / u. State: "exp_avg", "exp_inf".
public final class Adamax<T: Real>: Optimiser {
    public let name = "adamax"
    public var learningRate: Double { didSet { checkLearningRate(learningRate) } }
    public let beta1: Double, beta2: Double, eps: Double, weightDecay: Double
    private let state: StateBuffers<T>

    public init(learningRate: Double = 2e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                weightDecay: Double = 0) throws {
        try requireHyperparameter("Adamax", "lr", learningRate, learningRate >= 0, "≥ 0")
        try requireHyperparameter("Adamax", "eps", eps, eps >= 0, "≥ 0")
        try requireHyperparameter("Adamax", "beta1", betas.0, betas.0 >= 0 && betas.0 < 1, "in [0, 1)")
        try requireHyperparameter("Adamax", "beta2", betas.1, betas.1 >= 0 && betas.1 < 1, "in [0, 1)")
        try requireHyperparameter("Adamax", "weight_decay", weightDecay, weightDecay >= 0, "≥ 0")
        (self.learningRate, beta1, beta2, self.eps, self.weightDecay) = (learningRate, betas.0, betas.1, eps, weightDecay)
        state = StateBuffers(algorithm: name, buffers: [("exp_avg", 0), ("exp_inf", 0)])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func step(store: ParameterStore<T>) {
        let n = store.count, t = Double(state.begin(count: n))
        let p = store.values, g = store.gradients
        let lambda = T(weightDecay), decays = weightDecay != 0
        let stepSize = T(learningRate / (1 - pow(beta1, t)))
        let w1 = T(1 - beta1), b2 = T(beta2), epsilon = T(eps)
        let m = state[0], u = state[1]
        for i in 0..<n {
            let d = decays ? g[i] + lambda * p[i] : g[i]
            m[i] = lerp(m[i], d, w1)
            u[i] = Swift.max(u[i] * b2, Swift.abs(d) + epsilon)
            p[i] -= stepSize * m[i] / u[i]
        }
    }

    public func exportState() -> OptimiserState<T> { state.export() }
    public func importState(_ state: OptimiserState<T>) throws { try self.state.load(state) }
}

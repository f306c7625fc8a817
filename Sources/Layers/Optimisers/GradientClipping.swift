import DNCNumerics

/// Scales all gradients so that their global L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_`: the factor maxNorm / (norm + 1e-6) is applied when it is
/// below 1. Returns the norm before clipping, with the squares summed in Double.
///
/// A non-finite norm (a NaN or ±∞ gradient) is returned as it is and the gradients are left
/// untouched, so the caller sees it and decides (stop, or skip the step). PyTorch would instead
/// multiply by NaN or by 0 and hide where the problem came from.
@inlinable
public func clipGlobalNorm<T: Real>(_ store: ParameterStore<T>, maxNorm: Double) -> Double {
    clipGlobalNorm(store.gradients, count: store.count, maxNorm: maxNorm)
}

/// `clipGlobalNorm` over any flat gradient buffer.
@inlinable
public func clipGlobalNorm<T: Real>(_ gradients: UnsafeMutablePointer<T>, count: Int, maxNorm: Double) -> Double {
    precondition(maxNorm >= 0 && !maxNorm.isNaN, "maximum gradient norm \(maxNorm) must be ≥ 0")
    var sumOfSquares = 0.0
    for i in 0..<count { let g = Double(gradients[i]); sumOfSquares += g * g }
    var norm = sumOfSquares.squareRoot()
    // Only Double gradients above ~1e154 overflow the squares; rescaled, the norm may be finite.
    if norm == .infinity { norm = Double(Kernels.norm(gradients, count: count)) }
    guard norm.isFinite else { return norm }
    let factor = maxNorm / (norm + 1e-6)
    if factor < 1 { Kernels.scale(gradients, count: count, by: T(factor)) }
    return norm
}

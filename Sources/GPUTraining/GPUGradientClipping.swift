import DNCGPU
import DNCNumerics

/// Global-norm gradient clipping on the device: the CPU's `clipGlobalNorm`
/// (Sources/Layers/Optimisers/GradientClipping.swift) over `DeviceParameters.gradients`.
public enum GPUGradientClipping {
    /// Threads per block of the reductions and the scaling (a power of two).
    static let threads = 256
    /// At most this many blocks in the first pass, so that the second pass (one block) folds few
    /// partials; the grid is a function of the element count only, so the summation order, and
    /// the norm to the last bit, is the same on every run.
    static let maximumBlocks = 1024

    /// The doubles of workspace `clipGlobalNorm` needs for `elements` gradients: one partial per
    /// block of the first pass, and the result.
    public static func workspaceCount(elements: Int) -> Int { min((elements + threads - 1) / threads, maximumBlocks) + 1 }

    /// The global L2 norm of the gradients before clipping, summed in Double (one scalar comes
    /// down); when it exceeds `maxNorm`, the gradients are scaled by maxNorm / (norm + 1e-6) on
    /// the device. A non-finite norm is returned as it is and the gradients left untouched, as on
    /// the CPU. A sum of squares that overflows (Double gradients above ~1e154) is recomputed
    /// rescaled by the largest |g|, as the CPU's `Kernels.norm` does.
    ///
    /// Launches: two (a per-block pass and a one-block pass), a third to scale; two more only in
    /// the overflow case.
    ///
    /// `workspace`: at least `workspaceCount(elements: parameters.store.count)` doubles of device
    /// memory for the partial sums, so that a training loop allocates nothing per step; without
    /// one, a workspace is allocated and freed in the call.
    public static func clipGlobalNorm<T: Real>(_ parameters: DeviceParameters<T>, maxNorm: Double,
                                               workspace: DeviceArray<Double>? = nil) throws -> Double {
        precondition(maxNorm >= 0 && !maxNorm.isNaN, "maximum gradient norm \(maxNorm) must be ≥ 0")
        let device = parameters.device, gradients = parameters.gradients, count = gradients.count
        guard count > 0 else { return 0 }
        let blocks = min((count + threads - 1) / threads, maximumBlocks)
        precondition(workspace.map { $0.count >= blocks + 1 } ?? true,
                     "a clipping workspace of \(workspace?.count ?? 0) doubles for \(count) gradients (needs \(blocks + 1))")
        let scratch = try workspace ?? device.zeros(Double.self, count: blocks + 1)
        defer { if workspace == nil { device.free(scratch) } }
        let precision = KernelPrecision.of(T.self)

        /// Pass 1 and 2 of `mode` (0: Σg², 1: max|g|, 2: Σ(g/divisor)²), the result downloaded.
        func reduce(mode: Int, divisor: T = 1) throws -> Double {
            try device.launch(precision.kernelName("dnc_norm_partials"), grid: (blocks, 1), threads: threads,
                              sharedBytes: threads * MemoryLayout<Double>.stride,
                              [gradients.argument(), .int(count), scratch.argument(), .int(mode), .real(divisor)])
            try device.launch(precision.kernelName("dnc_norm_finish"), grid: (1, 1), threads: threads,
                              sharedBytes: threads * MemoryLayout<Double>.stride,
                              [scratch.argument(), .int(blocks), scratch.argument(at: blocks), .int(mode)])
            return try device.download(scratch.slice(blocks, count: 1))[0]
        }

        var norm = try reduce(mode: 0).squareRoot()
        if norm == .infinity {
            // Kernels.norm: the largest |g|, then the sum of squares of g / largest, in T.
            let largest = T(try reduce(mode: 1))
            if largest == 0 || !largest.isFinite {
                norm = Double(largest)
            } else {
                norm = Double(largest * T(try reduce(mode: 2, divisor: largest)).squareRoot())
            }
        }
        guard norm.isFinite else { return norm }
        let factor = maxNorm / (norm + 1e-6)
        if factor < 1 {
            try device.launch(precision.kernelName("dnc_norm_scale"), grid: ((count + threads - 1) / threads, 1), threads: threads,
                              sharedBytes: 0, [gradients.argument(), .int(count), .real(T(factor))])
        }
        return norm
    }
}

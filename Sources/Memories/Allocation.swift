import DNCNumerics

/// Usage update and the sort-based allocation weighting, with their backward passes
/// (docs/dense-memory.md: Usage and retention, Allocation, Backward pass). All functions work on one sample.
enum Allocation {
    /// ε of the δ mapping `û = ε + (1 − ε)·u` (pytorch-dnc's δ).
    @inlinable static func epsilon<T: Real>(_: T.Type) -> T { T(1e-6) }

    // MARK: Usage

    /// `u_t = (u + (1 − u) ∘ w^w_{t−1}) ∘ ψ`, `ψ = Π_i (1 − f_i · w^r_{t−1,i})`.
    /// - usage: previous u (N); writeWeights: w^w_{t−1} (N); readWeights: w^r_{t−1} (R×N);
    ///   freeGates: f (R). Writes `retention` ψ (N) and `newUsage` u_t (N).
    static func usageForward<T: Real>(usage: UnsafePointer<T>, writeWeights: UnsafePointer<T>,
                                      readWeights: UnsafePointer<T>, freeGates: UnsafePointer<T>,
                                      cells n: Int, readHeads r: Int,
                                      retention: UnsafeMutablePointer<T>, newUsage: UnsafeMutablePointer<T>) {
        Kernels.fill(retention, count: n, with: 1)
        for i in 0..<r {
            let f = freeGates[i], w = readWeights + i * n
            for c in 0..<n { retention[c] *= 1 - f * w[c] }
        }
        for c in 0..<n {
            let u = usage[c]
            newUsage[c] = (u + (1 - u) * writeWeights[c]) * retention[c]
        }
    }

    /// Scratch (reals) that `usageBackward` needs.
    static func usageBackwardScratchSize(cells n: Int, readHeads r: Int) -> Int { r * n + 2 * n }

    /// Backward of `usageForward`. `newUsageGradient` is dℓ/du_t (N); `retentionGradient`, when
    /// given, is dℓ/dψ from elsewhere than the usage (N).
    /// Writes (overwrites) `usageGradient` dℓ/du_{t−1} (N) and `writeWeightsGradient` dℓ/dw^w_{t−1}
    /// (N, zero when `stopGradient`, DeepMind's choice); accumulates into `readWeightsGradient` (R×N)
    /// and `freeGatesGradient` (R). `scratch`: `usageBackwardScratchSize` values.
    /// Vectorised over the cells, heads in the outer loops.
    static func usageBackward<T: Real>(usage: UnsafePointer<T>, writeWeights: UnsafePointer<T>,
                                       readWeights: UnsafePointer<T>, freeGates: UnsafePointer<T>,
                                       retention: UnsafePointer<T>, newUsageGradient: UnsafePointer<T>,
                                       cells n: Int, readHeads r: Int, stopGradient: Bool,
                                       retentionGradient: UnsafePointer<T>? = nil,
                                       usageGradient: UnsafeMutablePointer<T>,
                                       writeWeightsGradient: UnsafeMutablePointer<T>,
                                       readWeightsGradient: UnsafeMutablePointer<T>,
                                       freeGatesGradient: UnsafeMutablePointer<T>,
                                       scratch: UnsafeMutablePointer<T>) {
        // prefix_i = Π_{j<i}(1 − q_j) per cell (R×N), the running suffix product (N), dℓ/dψ (N).
        let prefix = scratch, suffix = scratch + r * n, dPsi = suffix + n
        for c in 0..<n {
            let g = newUsageGradient[c], u = usage[c], w = writeWeights[c], psi = retention[c]
            usageGradient[c] = g * psi * (1 - w)
            dPsi[c] = g * (u + (1 - u) * w)
        }
        // DNC-MD's de-allocation also scales the memory by ψ (docs/dense-memory.md, "De-allocation").
        if let retentionGradient { for c in 0..<n { dPsi[c] += retentionGradient[c] } }
        if stopGradient {
            Kernels.fill(writeWeightsGradient, count: n, with: 0)
        } else {
            for c in 0..<n {
                let g = newUsageGradient[c], u = usage[c], psi = retention[c]
                writeWeightsGradient[c] = g * psi * (1 - u)
            }
        }
        // ∂ψ/∂q_i = −Π_{j≠i}(1 − q_j): prefix products forward, suffix product backward (no division).
        Kernels.fill(prefix, count: n, with: 1)
        for i in 1..<Swift.max(r, 1) {
            let f = freeGates[i - 1], wr = readWeights + (i - 1) * n, previous = prefix + (i - 1) * n, current = prefix + i * n
            for c in 0..<n { current[c] = previous[c] * (1 - f * wr[c]) }
        }
        Kernels.fill(suffix, count: n, with: 1)
        for i in stride(from: r - 1, through: 0, by: -1) {
            let f = freeGates[i], wr = readWeights + i * n, dwr = readWeightsGradient + i * n, p = prefix + i * n
            // dq (the gradient of q_i = f_i·w^r_i) goes to the scratch `p`, which is not needed again.
            for c in 0..<n {
                let dq = -dPsi[c] * p[c] * suffix[c]
                p[c] = dq
                dwr[c] += dq * f
                suffix[c] *= 1 - f * wr[c]
            }
            freeGatesGradient[i] += RowKernels.dot(p, wr, count: n)
        }
    }

    // MARK: Free list

    /// Stable ascending order of `values` (ties → lower index first), written to `order` (N).
    /// `scratch` holds N integers. No allocation.
    ///
    /// With `hint` (a permutation, such as the previous step's order: usage changes in a few
    /// cells per step), an insertion sort from it on the key (value, index), which gives the
    /// same unique order in O(N) when the hint is nearly right; past a budget of moves it
    /// falls back to the merge sort. (The merge sort's unpredictable branches made it 2% of a
    /// dnc-paper training step.)
    static func stableAscendingOrder<T: Real>(_ values: UnsafePointer<T>, count n: Int,
                                              order: UnsafeMutablePointer<Int>, scratch: UnsafeMutablePointer<Int>,
                                              hint: UnsafePointer<Int>? = nil) {
        if let hint, insertionSort(values, count: n, from: hint, order: order, budget: 4 * n + 64) { return }
        mergeSort(values, count: n, order: order, scratch: scratch)
    }

    /// Insertion sort of the permutation `start` by (value, index) into `order` (which may be
    /// `start`); false (order unspecified) when it needed more than `budget` element moves.
    private static func insertionSort<T: Real>(_ values: UnsafePointer<T>, count n: Int, from start: UnsafePointer<Int>,
                                               order: UnsafeMutablePointer<Int>, budget: Int) -> Bool {
        var moves = 0
        for i in 0..<n {
            let index = start[i], value = values[index]
            var j = i
            while j > 0 {
                let previous = order[j - 1], previousValue = values[previous]
                guard previousValue > value || (previousValue == value && previous > index) else { break }
                order[j] = previous
                j -= 1
            }
            moves += i - j
            if moves > budget { return false }
            order[j] = index
        }
        return true
    }

    /// Bottom-up merge sort of the identity permutation by (value, index).
    private static func mergeSort<T: Real>(_ values: UnsafePointer<T>, count n: Int,
                                           order: UnsafeMutablePointer<Int>, scratch: UnsafeMutablePointer<Int>) {
        for i in 0..<n { order[i] = i }
        var source = order, target = scratch
        var width = 1
        while width < n {
            var start = 0
            while start < n {
                let middle = Swift.min(start + width, n), end = Swift.min(start + 2 * width, n)
                var a = start, b = middle, o = start
                while a < middle && b < end {
                    // Take from the right run only when strictly smaller: keeps ties in index order.
                    if values[source[b]] < values[source[a]] { target[o] = source[b]; b += 1 }
                    else { target[o] = source[a]; a += 1 }
                    o += 1
                }
                while a < middle { target[o] = source[a]; a += 1; o += 1 }
                while b < end { target[o] = source[b]; b += 1; o += 1 }
                start = end
            }
            swap(&source, &target)
            width *= 2
        }
        if source != order { order.update(from: source, count: n) }
    }

    // MARK: Allocation

    /// `a[φ_j] = (1 − x_j)·Π_{i<j} x_i` with `x_j = û[φ_j]`, `û = ε + (1 − ε)·u`.
    /// - usage: u_t (N). `order` φ (N): filled by a stable ascending sort of û unless `givenOrder`
    ///   (`orderHint`: a permutation to start the sort from, see `stableAscendingOrder`).
    /// - Writes `sorted` x (N), `prefix` P (N, P_0 = 1) and `allocation` a (N).
    /// - `scratch`: N integers (sort) and N reals (û).
    static func allocationForward<T: Real>(usage: UnsafePointer<T>, cells n: Int, givenOrder: [Int]?,
                                           orderHint: UnsafePointer<Int>? = nil,
                                           order: UnsafeMutablePointer<Int>, sorted: UnsafeMutablePointer<T>,
                                           prefix: UnsafeMutablePointer<T>, allocation: UnsafeMutablePointer<T>,
                                           integerScratch: UnsafeMutablePointer<Int>, scratch: UnsafeMutablePointer<T>) {
        let eps = epsilon(T.self)
        let mapped = scratch
        for c in 0..<n { mapped[c] = eps + (1 - eps) * usage[c] }
        if let givenOrder {
            precondition(givenOrder.count == n, "an allocation order must be a permutation of 0..<\(n)")
            for j in 0..<n {
                precondition(givenOrder[j] >= 0 && givenOrder[j] < n, "allocation order entry \(givenOrder[j]) out of 0..<\(n)")
                order[j] = givenOrder[j]
            }
        } else {
            stableAscendingOrder(mapped, count: n, order: order, scratch: integerScratch, hint: orderHint)
        }
        var running: T = 1
        for j in 0..<n {
            let x = mapped[order[j]]
            sorted[j] = x
            prefix[j] = running
            allocation[order[j]] = (1 - x) * running
            running *= x
        }
    }

    /// Backward of `allocationForward` through the (constant) sort with the division-free
    /// recursion `Q_{N−1} = 0, Q_k = g_{k+1}(1 − x_{k+1}) + x_{k+1} Q_{k+1}`,
    /// `∂ℓ/∂x_k = P_k (Q_k − g_k)`. Accumulates `(1 − ε)·∂ℓ/∂x` into `usageGradient` (N).
    static func allocationBackward<T: Real>(order: UnsafePointer<Int>, sorted: UnsafePointer<T>,
                                            prefix: UnsafePointer<T>, allocationGradient: UnsafePointer<T>,
                                            cells n: Int, usageGradient: UnsafeMutablePointer<T>) {
        let scale = 1 - epsilon(T.self)
        var q: T = 0
        for k in stride(from: n - 1, through: 0, by: -1) {
            let g = allocationGradient[order[k]]
            usageGradient[order[k]] += scale * prefix[k] * (q - g)
            q = g * (1 - sorted[k]) + sorted[k] * q
        }
    }
}

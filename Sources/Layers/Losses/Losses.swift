import DNCNumerics

/// Loss functions, each with its gradient computed in the same pass.
///
/// Layout: the input (logits or predictions) is a row-major `[rows, columns]` matrix, as a raw
/// buffer with explicit sizes or as a `Tensor<T>`. The element-wise losses (BCE, MSE) only need
/// the element count, so a tensor of any shape works as long as its targets (and weights) have
/// the same shape; cross-entropy takes the softmax over the last axis and treats every other
/// axis as rows.
///
/// Reduction, the same for all: the weighted mean of the per-element (per-row for
/// cross-entropy) losses ℓᵢ,
///
///     loss = Σᵢ wᵢ·ℓᵢ / Σᵢ wᵢ,      and the plain mean Σᵢ ℓᵢ / n without weights,
///
/// so unweighted values equal PyTorch's `binary_cross_entropy_with_logits`, `cross_entropy` and
/// `mse_loss` with `reduction='mean'`. With weights this is a masked or weighted *average*
/// (PyTorch's `weight=` argument of the BCE would still divide by n). Weights must be finite and
/// non-negative. When Σw = 0 the loss and the whole gradient are 0 (an all-masked batch must not
/// produce NaN). Elements (rows) of weight 0 are skipped entirely: their inputs and targets are
/// never read, so padding may hold anything, even non-finite values or invalid class indices.
///
/// Gradient: `gradient`, when non-nil, is overwritten with d(loss)/d(input), same layout as the
/// input; pass nil to compute the value only. The value is accumulated in Double, so a Float
/// loss over millions of elements keeps its precision.
public enum Losses {
    // MARK: Binary cross-entropy with logits

    /// ℓ = max(z, 0) − z·y + ln(1 + e^{−|z|}), d/dz = σ(z) − y: finite for any finite logit z,
    /// unlike ln σ(z), which underflows. Targets y are usually in [0, 1].
    @inlinable
    public static func binaryCrossEntropyWithLogits<T: Real>(
        logits z: UnsafePointer<T>, targets y: UnsafePointer<T>, weights w: UnsafePointer<T>? = nil,
        count: Int, gradient: UnsafeMutablePointer<T>?
    ) -> T {
        let scale = inverseTotalWeight(w, count: count)
        var total = 0.0
        for i in 0..<count {
            let wi = w?[i] ?? 1
            if wi == 0 { gradient?[i] = 0; continue }
            let e = T.exactExp(-Swift.abs(z[i]))  // in (0, 1]: no overflow on either side
            let loss = Swift.max(z[i], 0) - z[i] * y[i] + T.exactLog1p(e)
            total += Double(wi) * Double(loss)
            if let gradient {
                let sigmoid = z[i] >= 0 ? 1 / (1 + e) : e / (1 + e)
                gradient[i] = T(Double(wi) * scale) * (sigmoid - y[i])
            }
        }
        return T(total * scale)
    }

    /// Tensor form; `targets` and `weights` must have the shape of `logits`.
    @inlinable
    public static func binaryCrossEntropyWithLogits<T: Real>(
        _ logits: Tensor<T>, targets: Tensor<T>, weights: Tensor<T>? = nil
    ) -> (loss: T, gradient: Tensor<T>) {
        elementWise(logits, targets, weights) { binaryCrossEntropyWithLogits(logits: $0, targets: $1, weights: $2, count: $3, gradient: $4) }
    }

    // MARK: Mean squared error

    /// ℓ = (x − y)², d/dx = 2(x − y).
    @inlinable
    public static func meanSquaredError<T: Real>(
        predictions x: UnsafePointer<T>, targets y: UnsafePointer<T>, weights w: UnsafePointer<T>? = nil,
        count: Int, gradient: UnsafeMutablePointer<T>?
    ) -> T {
        let scale = inverseTotalWeight(w, count: count)
        var total = 0.0
        for i in 0..<count {
            let wi = w?[i] ?? 1
            if wi == 0 { gradient?[i] = 0; continue }
            let difference = x[i] - y[i]
            total += Double(wi) * Double(difference * difference)
            if let gradient { gradient[i] = T(2 * Double(wi) * scale) * difference }
        }
        return T(total * scale)
    }

    /// Tensor form; `targets` and `weights` must have the shape of `predictions`.
    @inlinable
    public static func meanSquaredError<T: Real>(
        _ predictions: Tensor<T>, targets: Tensor<T>, weights: Tensor<T>? = nil
    ) -> (loss: T, gradient: Tensor<T>) {
        elementWise(predictions, targets, weights) { meanSquaredError(predictions: $0, targets: $1, weights: $2, count: $3, gradient: $4) }
    }

    // MARK: Softmax cross-entropy

    /// Row r with class target c: ℓ = logsumexp(x_r) − x_r[c], d/dx_r = softmax(x_r) − onehot(c).
    /// Class indices must lie in 0..<columns (checked) for rows of non-zero weight.
    @inlinable
    public static func softmaxCrossEntropy<T: Real>(
        logits: UnsafePointer<T>, rows: Int, columns: Int, classes: UnsafePointer<Int>,
        rowWeights: UnsafePointer<T>? = nil, gradient: UnsafeMutablePointer<T>?
    ) -> T {
        crossEntropy(logits: logits, rows: rows, columns: columns, classes: classes, probabilities: nil,
                     rowWeights: rowWeights, gradient: gradient)
    }

    /// Row r with target distribution p_r (PyTorch's "class probabilities" targets):
    /// ℓ = −Σⱼ pⱼ·log_softmax(x_r)ⱼ, d/dx_r = softmax(x_r)·Σⱼ pⱼ − p_r (rows need not sum to 1).
    /// Terms with pⱼ = 0 are skipped, so a logit of −∞ there gives no 0·∞ NaN.
    @inlinable
    public static func softmaxCrossEntropy<T: Real>(
        logits: UnsafePointer<T>, rows: Int, columns: Int, probabilities: UnsafePointer<T>,
        rowWeights: UnsafePointer<T>? = nil, gradient: UnsafeMutablePointer<T>?
    ) -> T {
        crossEntropy(logits: logits, rows: rows, columns: columns, classes: nil, probabilities: probabilities,
                     rowWeights: rowWeights, gradient: gradient)
    }

    /// Tensor form with class targets: `logits` is `[..., columns]`, one class and (optionally)
    /// one weight per row.
    @inlinable
    public static func softmaxCrossEntropy<T: Real>(
        _ logits: Tensor<T>, classes: [Int], rowWeights: [T]? = nil
    ) -> (loss: T, gradient: Tensor<T>) {
        let (rows, columns) = rowsAndColumns(logits)
        precondition(classes.count == rows, "\(classes.count) class targets for \(rows) rows")
        precondition(rowWeights.map { $0.count == rows } ?? true, "\(rowWeights?.count ?? 0) row weights for \(rows) rows")
        var gradient = Tensor<T>(shape: logits.shape)
        if logits.count == 0 { return (0, gradient) }  // empty arrays may have no base address
        let loss = logits.withUnsafeBufferPointer { x in
            classes.withUnsafeBufferPointer { c in
                withOptionalPointer(rowWeights) { w in
                    gradient.withUnsafeMutableBufferPointer { g in
                        softmaxCrossEntropy(logits: x.baseAddress!, rows: rows, columns: columns, classes: c.baseAddress!,
                                            rowWeights: w, gradient: g.baseAddress!)
                    }
                }
            }
        }
        return (loss, gradient)
    }

    /// Tensor form with probability targets of the shape of `logits`.
    @inlinable
    public static func softmaxCrossEntropy<T: Real>(
        _ logits: Tensor<T>, probabilities: Tensor<T>, rowWeights: [T]? = nil
    ) -> (loss: T, gradient: Tensor<T>) {
        let (rows, columns) = rowsAndColumns(logits)
        precondition(probabilities.shape == logits.shape, "targets \(probabilities.shape) for logits \(logits.shape)")
        precondition(rowWeights.map { $0.count == rows } ?? true, "\(rowWeights?.count ?? 0) row weights for \(rows) rows")
        var gradient = Tensor<T>(shape: logits.shape)
        if logits.count == 0 { return (0, gradient) }
        let loss = logits.withUnsafeBufferPointer { x in
            probabilities.withUnsafeBufferPointer { p in
                withOptionalPointer(rowWeights) { w in
                    gradient.withUnsafeMutableBufferPointer { g in
                        softmaxCrossEntropy(logits: x.baseAddress!, rows: rows, columns: columns, probabilities: p.baseAddress!,
                                            rowWeights: w, gradient: g.baseAddress!)
                    }
                }
            }
        }
        return (loss, gradient)
    }

    // MARK: Shared machinery

    /// Both cross-entropy forms: exactly one of `classes` and `probabilities` is non-nil.
    @inlinable
    static func crossEntropy<T: Real>(
        logits: UnsafePointer<T>, rows: Int, columns: Int, classes: UnsafePointer<Int>?, probabilities: UnsafePointer<T>?,
        rowWeights w: UnsafePointer<T>?, gradient: UnsafeMutablePointer<T>?
    ) -> T {
        precondition(columns > 0 || rows == 0, "cross-entropy needs at least one class")
        let scale = inverseTotalWeight(w, count: rows)
        var total = 0.0
        for r in 0..<rows {
            let x = logits + r * columns
            let g = gradient.map { $0 + r * columns }
            let weight = w?[r] ?? 1
            if weight == 0 { g?.update(repeating: 0, count: columns); continue }
            var largest = -T.infinity
            for j in 0..<columns { largest = Swift.max(largest, x[j]) }
            // Shifting by the row maximum keeps every exponential in (0, 1].
            var sum: T = 0
            for j in 0..<columns {
                let e = T.exactExp(x[j] - largest)
                sum += e
                g?[j] = e
            }
            let logSumExp = largest + T.exactLog(sum)
            var loss: T = 0, mass: T = 1
            if let classes {
                let c = classes[r]
                precondition(c >= 0 && c < columns, "class target \(c) of row \(r) is outside 0..<\(columns)")
                loss = logSumExp - x[c]
            } else if let p = probabilities.map({ $0 + r * columns }) {
                mass = 0
                for j in 0..<columns where p[j] != 0 {
                    loss += p[j] * (logSumExp - x[j])
                    mass += p[j]
                }
            }
            total += Double(weight) * Double(loss)
            if let g {
                let k = T(Double(weight) * scale), inverse = 1 / sum
                for j in 0..<columns { g[j] = k * g[j] * inverse * mass }
                if let classes { g[classes[r]] -= k }
                else if let p = probabilities.map({ $0 + r * columns }) { for j in 0..<columns { g[j] -= k * p[j] } }
            }
        }
        return T(total * scale)
    }

    /// 1 / Σw in Double (1/n without weights), or 0 when Σw = 0.
    @inlinable
    static func inverseTotalWeight<T: Real>(_ w: UnsafePointer<T>?, count: Int) -> Double {
        guard let w else { return count > 0 ? 1 / Double(count) : 0 }
        var total = 0.0
        for i in 0..<count { total += Double(w[i]) }
        return total != 0 ? 1 / total : 0
    }

    @inlinable
    static func rowsAndColumns<T: Real>(_ logits: Tensor<T>) -> (rows: Int, columns: Int) {
        precondition(logits.rank >= 1, "cross-entropy logits need a class axis")
        let columns = logits.shape[logits.rank - 1]
        return (columns > 0 ? logits.count / columns : 0, columns)
    }

    @inlinable
    static func withOptionalPointer<T: Real, R>(_ array: [T]?, _ body: (UnsafePointer<T>?) -> R) -> R {
        guard let array else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    @inlinable
    static func elementWise<T: Real>(
        _ input: Tensor<T>, _ targets: Tensor<T>, _ weights: Tensor<T>?,
        _ loss: (UnsafePointer<T>, UnsafePointer<T>, UnsafePointer<T>?, Int, UnsafeMutablePointer<T>) -> T
    ) -> (loss: T, gradient: Tensor<T>) {
        precondition(targets.shape == input.shape, "targets \(targets.shape) for input \(input.shape)")
        precondition(weights.map { $0.shape == input.shape } ?? true, "weights \(weights!.shape) for input \(input.shape)")
        var gradient = Tensor<T>(shape: input.shape)
        if input.count == 0 { return (0, gradient) }
        let value = input.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                withOptionalPointer(weights?.storage) { w in
                    gradient.withUnsafeMutableBufferPointer { g in
                        loss(x.baseAddress!, y.baseAddress!, w, input.count, g.baseAddress!)
                    }
                }
            }
        }
        return (value, gradient)
    }
}

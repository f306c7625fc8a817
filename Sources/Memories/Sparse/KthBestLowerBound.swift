import DNCNumerics

/// A value that the k-th best of `count` scores is at least: the least of the maxima of k
/// disjoint blocks. Each block's maximum is a different score no smaller than that least one, so at
/// least k scores reach it, and a score below it can never be among the k best.
///
/// A top-k selection (`TopK`) then need only be offered the scores that reach the bound: picking
/// the 32 lists a query probes among 1 000 centroids, or the 32 rows of a shortlist among the
/// 1 000 of the first list scanned, takes some 40–100 offers instead of 1 000, and the bound
/// itself is one pass of comparisons. The selection is the same: nothing below the bound could
/// have been kept.
///
/// NaN scores are left out of the maxima (a comparison with NaN is false), and since `s < bound`
/// is false for a NaN, callers that keep `!(s < bound)` still offer them, as they would have been.
/// nil when `count < 2·k` (no saving worth the pass).
@inline(__always)
func kthBestLowerBound<T: Real>(_ scores: UnsafePointer<T>, count: Int, k: Int) -> T? {
    guard k > 0, count >= 2 * k else { return nil }
    var bound = T.infinity
    for block in 0..<k {
        var largest = -T.infinity
        for i in (block * count / k)..<((block + 1) * count / k) where scores[i] > largest { largest = scores[i] }
        if largest < bound { bound = largest }
    }
    return bound
}

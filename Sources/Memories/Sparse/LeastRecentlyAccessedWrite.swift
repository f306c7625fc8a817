import DNCNumerics

/// Where a step keeps its write set: the cells written, in order, with ρ (the previous read's
/// weight on the cell, summed over heads and slots) and whether the cell is the least recently
/// accessed one (erased) and whether it was never written before (fresh). SAM keeps it in its
/// fixed-size record, the SDNC in its growable one.
protocol SparseWriteSet<Scalar> {
    associatedtype Scalar: Real
    var count: Int { get }
    /// The entry of `cell`, if written.
    func entry(of cell: Int) -> Int?
    mutating func append(cell: Int, rho: Scalar, erased: Bool, fresh: Bool)
    mutating func addRho(_ value: Scalar, to entry: Int)
    mutating func markErased(_ entry: Int)
}

/// SAM's least-recently-accessed write (docs/sparse-memory.md, "Sparse write"), shared by the
/// SDNC, forward and backward side by side.
///
/// The write set is the previous read's cells plus the least recently accessed cell ℓ. Cell u
/// gets weight w(u) = α (γ ρ(u) + (1 − γ) I(u)) with I(u) = [u = ℓ]; ℓ's row is erased first,
/// then M(u) += w(u)·a for every u (α write gate, γ interpolation gate, a write vector).
enum LeastRecentlyAccessedWrite {
    /// Fills `set` (empty) from the previous read (`slots` positions, −1 unused, and weights) and
    /// the least recently accessed cell `lra` (fresh when never written since the reset).
    static func buildSet<Set: SparseWriteSet>(_ set: inout Set, previousPositions: UnsafePointer<Int>,
                                              previousWeights: UnsafePointer<Set.Scalar>, slots: Int, lra: Int, lraIsFresh: Bool) {
        for p in 0..<slots {
            let c = previousPositions[p]
            guard c >= 0 else { continue }
            if let j = set.entry(of: c) { set.addRho(previousWeights[p], to: j); continue }
            set.append(cell: c, rho: previousWeights[p], erased: false, fresh: false)
        }
        if let j = set.entry(of: lra) { set.markErased(j) } else { set.append(cell: lra, rho: 0, erased: true, fresh: lraIsFresh) }
    }

    /// w(u) = α (γ ρ + (1 − γ) I(u)).
    @inline(__always)
    static func weight<T: Real>(alpha: T, gamma: T, rho: T, erased: Bool) -> T {
        alpha * (gamma * rho + (1 - gamma) * (erased ? 1 : 0))
    }

    /// Writes one row (W values) in place: M(u) ← w·a when erased, else M(u) + w·a.
    @inline(__always)
    static func writeRow<T: Real>(_ row: UnsafeMutablePointer<T>, weight: T, writeVector a: UnsafePointer<T>, erased: Bool,
                                  width w: Int) {
        if erased {
            for e in 0..<w { row[e] = weight * a[e] }
        } else {
            for e in 0..<w { row[e] += weight * a[e] }
        }
    }

    /// Backward of one cell's write. `rowGradient` holds dℓ/dM_t(u) and becomes dℓ/dM_{t−1}(u)
    /// (zero when erased); dℓ/da accumulates into `writeVectorGradient`. `weightGradient` is what
    /// w(u) already received elsewhere (the SDNC's links and precedence; 0 for SAM). Returns the
    /// cell's terms of dℓ/dα and dℓ/dγ and dℓ/dρ(u).
    @inline(__always)
    static func backwardCell<T: Real>(rowGradient gr: UnsafeMutablePointer<T>, writeVector a: UnsafePointer<T>,
                                      writeVectorGradient da: UnsafeMutablePointer<T>, weight: T, weightGradient: T,
                                      rho: T, erased: Bool, alpha: T, gamma: T, width w: Int)
        -> (alpha: T, gamma: T, rho: T) {
        var dw = weightGradient
        for e in 0..<w { dw += a[e] * gr[e]; da[e] += weight * gr[e] }
        if erased { for e in 0..<w { gr[e] = 0 } }
        let indicator: T = erased ? 1 : 0
        return ((gamma * rho + (1 - gamma) * indicator) * dw, alpha * (rho - indicator) * dw, alpha * gamma * dw)
    }

    /// Undoes one cell's write: checks that the row still holds what the step wrote (`newRow`),
    /// then restores `oldRow`.
    @inline(__always)
    static func undoRow<T: Real>(_ row: UnsafeMutablePointer<T>, cell: Int, oldRow: UnsafePointer<T>, newRow: UnsafePointer<T>,
                                 width w: Int, step: Int) {
        for e in 0..<w {
            precondition(bitIdentical(row[e], newRow[e]),
                         "row \(cell) differs from what step \(step) wrote: the state was changed between forward and backward")
        }
        row.update(from: oldRow, count: w)
    }
}

import DNCNumerics

/// DNC-MD's link distribution sharpness in the dense memory's step, for one sample
/// (docs/dense-memory.md, "Link distribution sharpness"; the function itself is `LinkSharpness`).
extension DenseMemory {
    /// DNC-MD's sharpening of the directional weightings (docs/dense-memory.md, "Link distribution
    /// sharpness"): the record's raw L w^r and Lᵀ w^r into its f and b, per head.
    func sharpenForward(_ b: Int, frame: StepFrame) {
        let n = cellCount, r = readHeads, l = frame.layout, rec = frame.rec, xi = rec + l.interface + b * layout.size
        let f = rec + l.forward + b * r * n, back = rec + l.backward + b * r * n
        let rawF = rec + l.rawForward + b * r * n, rawB = rec + l.rawBackward + b * r * n
        for i in 0..<r {
            LinkSharpness.forward(raw: rawF + i * n, sharpness: xi[layout.forwardSharpness + i], cells: n, out: f + i * n)
            LinkSharpness.forward(raw: rawB + i * n, sharpness: xi[layout.backwardSharpness + i], cells: n, out: back + i * n)
        }
    }

    /// Backward of `sharpenForward`, in place on `scratch.dForward` and `scratch.dBackward` (dℓ/d f, b
    /// in, dℓ/d(raw) out); adds the sharpness' gradients to `interfaceGradient`.
    func sharpenBackward(_ b: Int, frame: StepFrame, interfaceGradient dRow: UnsafeMutablePointer<T>, scratch k: BackwardScratch) {
        let n = cellCount, r = readHeads, l = frame.layout, rec = frame.rec, xi = rec + l.interface + b * layout.size
        let f = rec + l.forward + b * r * n, back = rec + l.backward + b * r * n
        let rawF = rec + l.rawForward + b * r * n, rawB = rec + l.rawBackward + b * r * n
        for i in 0..<r {
            dRow[layout.forwardSharpness + i] += LinkSharpness.backward(
                raw: rawF + i * n, sharpness: xi[layout.forwardSharpness + i], sharpened: f + i * n, cells: n,
                gradient: k.dForward + i * n)
            dRow[layout.backwardSharpness + i] += LinkSharpness.backward(
                raw: rawB + i * n, sharpness: xi[layout.backwardSharpness + i], sharpened: back + i * n, cells: n,
                gradient: k.dBackward + i * n)
        }
    }
}

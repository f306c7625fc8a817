import DNCNumerics

/// The links L_{t−1} a dense memory's tape does not keep, recomputed from the tape's last
/// snapshot (`DenseMemoryTape.linkSnapshot`) with the forward's arithmetic, so bit for bit
/// the forward's. Holds the links after the snapshot's steps for one segment of the tape's
/// `linkInterval` steps, (linkInterval − 1) × B×N²: the backward visits a segment's steps
/// from the last to the first and recomputes once per segment; a forward that asks step by
/// step (the debug record) extends the segment by one link per step.
final class DenseLinkCache<T: Real>: @unchecked Sendable {
    private var buffer: UnsafeMutablePointer<T>
    private var capacity = 0
    private weak var tape: DenseMemoryTape<T>?
    private var epoch = -1, segment = -1, filled = 0

    init() { buffer = .allocate(capacity: 1) }
    deinit { buffer.deallocate() }

    /// L_{t−1} for all samples of step `t` (B×N², sample-major). `layout` gives where the
    /// records keep w^w and p_{t−1}, `integerLayout` the active flags.
    func linksBefore(step t: Int, tape: DenseMemoryTape<T>, layout l: DenseRecordLayout, cells n: Int) -> UnsafePointer<T> {
        let interval = tape.linkInterval
        let segment = t / interval, offset = t % interval
        let snapshot = tape.linkSnapshot(segment)
        if offset == 0 { return UnsafePointer(snapshot) }
        let size = tape.snapshotSize, batch = tape.batch
        let valid = self.tape === tape && epoch == tape.epoch && self.segment == segment
        if !valid || filled < offset {
            if (interval - 1) * size > capacity {
                buffer.deallocate()
                capacity = (interval - 1) * size
                buffer = .allocate(capacity: capacity)
            }
            // Link j (1-based) is L after step segment·interval + j − 1.
            for j in (valid ? filled + 1 : 1)...offset {
                let source = j == 1 ? UnsafePointer(snapshot) : UnsafePointer(buffer + (j - 2) * size)
                let target = buffer + (j - 1) * size
                let (rec, ints) = tape.record(segment * interval + j - 1)
                for b in 0..<batch {
                    if ints[l.activeFlags + b] != 0 {
                        TemporalLinkage.link(previous: source + b * n * n, writeWeights: rec + l.writeWeights + b * n,
                                             precedence: rec + l.previousPrecedence + b * n, cells: n, out: target + b * n * n)
                    } else {
                        (target + b * n * n).update(from: source + b * n * n, count: n * n)
                    }
                }
            }
            self.tape = tape
            epoch = tape.epoch
            self.segment = segment
            filled = offset
        }
        return UnsafePointer(buffer + (offset - 1) * size)
    }
}

import DNCNumerics

/// The intermediate values of one recorded step for the whole batch, copied out of a tape (for
/// tests, parity checks and inspection; not on any hot path). Rows of inactive samples hold
/// whatever the tape holds for them and should be ignored.
struct RecordedStep<T: Real> {
    /// ξ, activated interface, (B, S).
    var interface: Tensor<T>
    /// c^w, (B, N).
    var writeContent: Tensor<T>
    /// φ, the free-list order used, per sample.
    var freeList: [[Int]]
    /// a, (B, N).
    var allocation: Tensor<T>
    /// c^r, f, b: (B, R, N).
    var readContent: Tensor<T>
    var forward: Tensor<T>
    var backward: Tensor<T>
    /// u_t and w^w_t, (B, N).
    var usage: Tensor<T>
    var writeWeights: Tensor<T>
    var active: [Bool]
}

extension DenseMemory {
    /// Copies the intermediates of recorded step `step` out of `tape`.
    func recordedStep(tape: DenseMemoryTape<T>, step: Int) -> RecordedStep<T> {
        precondition(tape.owner === self, "this tape was recorded by another memory")
        let b = tape.batch, n = cellCount, r = readHeads
        let l = recordLayout(batch: b)
        let (rec, ints) = tape.record(step)
        func tensor(_ offset: Int, _ shape: [Int]) -> Tensor<T> {
            Tensor(shape: shape, storage: Array(UnsafeBufferPointer(start: rec + offset, count: shape.reduce(1, *))))
        }
        return RecordedStep(interface: tensor(l.interface, [b, interfaceSize]),
                            writeContent: tensor(l.writeContent, [b, n]),
                            freeList: (0..<b).map { s in (0..<n).map { ints[s * n + $0] } },
                            allocation: tensor(l.allocation, [b, n]),
                            readContent: tensor(l.readContent, [b, r, n]),
                            forward: tensor(l.forward, [b, r, n]), backward: tensor(l.backward, [b, r, n]),
                            usage: tensor(l.usage, [b, n]), writeWeights: tensor(l.writeWeights, [b, n]),
                            active: (0..<b).map { ints[l.activeFlags + $0] != 0 })
    }
}

import DNCNumerics

/// Per-sample state of one dense memory (docs/dense-memory.md, Memory state), all batch-first. pytorch-dnc's singleton write-head
/// axis is dropped: `linkMatrix` is (B, N, N), `precedence` and `writeWeights` are (B, N).
/// The same type carries the gradient with respect to a state (same shapes).
public struct DenseMemoryState<T: Real>: Equatable, Sendable {
    /// M, (B, N, W).
    public var memory: Tensor<T>
    /// L, (B, N, N); `L[b, i, j] ≈ 1` means cell i was written right after cell j.
    public var linkMatrix: Tensor<T>
    /// p, (B, N).
    public var precedence: Tensor<T>
    /// w^r, (B, R, N).
    public var readWeights: Tensor<T>
    /// w^w, (B, N).
    public var writeWeights: Tensor<T>
    /// u, (B, N).
    public var usage: Tensor<T>

    public init(memory: Tensor<T>, linkMatrix: Tensor<T>, precedence: Tensor<T>, readWeights: Tensor<T>,
                writeWeights: Tensor<T>, usage: Tensor<T>) {
        self.memory = memory
        self.linkMatrix = linkMatrix
        self.precedence = precedence
        self.readWeights = readWeights
        self.writeWeights = writeWeights
        self.usage = usage
    }

    /// The initial state of the paper, DeepMind's code and pytorch-dnc: everything zero.
    public static func zeros(batch: Int, cells: Int, width: Int, readHeads: Int) -> DenseMemoryState {
        DenseMemoryState(memory: Tensor(shape: [batch, cells, width]),
                         linkMatrix: Tensor(shape: [batch, cells, cells]),
                         precedence: Tensor(shape: [batch, cells]),
                         readWeights: Tensor(shape: [batch, readHeads, cells]),
                         writeWeights: Tensor(shape: [batch, cells]),
                         usage: Tensor(shape: [batch, cells]))
    }

    public var batch: Int { memory.shape[0] }
    /// N.
    public var cells: Int { memory.shape[1] }
    /// W.
    public var width: Int { memory.shape[2] }
    /// R.
    public var readHeads: Int { readWeights.shape[1] }

    /// Whether every tensor has the shapes of a (B, N, W, R) memory. (Compares dimensions one by
    /// one: it runs every step, and building shape arrays would allocate.)
    public func hasShape(batch: Int, cells: Int, width: Int, readHeads: Int) -> Bool {
        func matches(_ t: Tensor<T>, _ a: Int, _ b: Int, _ c: Int = -1) -> Bool {
            let s = t.shape
            return c < 0 ? (s.count == 2 && s[0] == a && s[1] == b) : (s.count == 3 && s[0] == a && s[1] == b && s[2] == c)
        }
        return matches(memory, batch, cells, width) && matches(linkMatrix, batch, cells, cells)
            && matches(precedence, batch, cells) && matches(readWeights, batch, readHeads, cells)
            && matches(writeWeights, batch, cells) && matches(usage, batch, cells)
    }
}

/// Raw pointers to the six tensors of a state, for the kernels.
struct DenseStatePointers<T: Real> {
    var memory: UnsafeMutablePointer<T>
    var link: UnsafeMutablePointer<T>
    var precedence: UnsafeMutablePointer<T>
    var readWeights: UnsafeMutablePointer<T>
    var writeWeights: UnsafeMutablePointer<T>
    var usage: UnsafeMutablePointer<T>
}

extension DenseMemoryState {
    /// Runs `body` with pointers to all six buffers. The tensors are moved out of `self` for the
    /// duration (no copy), so the six buffers can be written together. `placeholder` (any
    /// tensor, kept by the caller so that no step allocates one) stands in for them meanwhile.
    mutating func withPointers<R>(placeholder empty: Tensor<T>, _ body: (DenseStatePointers<T>) throws -> R) rethrows -> R {
        var m = empty, l = empty, p = empty, r = empty, w = empty, u = empty
        swap(&m, &memory); swap(&l, &linkMatrix); swap(&p, &precedence)
        swap(&r, &readWeights); swap(&w, &writeWeights); swap(&u, &usage)
        defer {
            swap(&m, &memory); swap(&l, &linkMatrix); swap(&p, &precedence)
            swap(&r, &readWeights); swap(&w, &writeWeights); swap(&u, &usage)
        }
        return try m.withUnsafeMutableBufferPointer { mb in
            try l.withUnsafeMutableBufferPointer { lb in
                try p.withUnsafeMutableBufferPointer { pb in
                    try r.withUnsafeMutableBufferPointer { rb in
                        try w.withUnsafeMutableBufferPointer { wb in
                            try u.withUnsafeMutableBufferPointer { ub in
                                try body(DenseStatePointers(memory: mb.baseAddress!, link: lb.baseAddress!,
                                                            precedence: pb.baseAddress!, readWeights: rb.baseAddress!,
                                                            writeWeights: wb.baseAddress!, usage: ub.baseAddress!))
                            }
                        }
                    }
                }
            }
        }
    }
}

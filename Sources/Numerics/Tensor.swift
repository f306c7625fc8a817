/// A dense, contiguous, row-major array of `Float` or `Double` with a shape.
///
/// Value semantics (copy on write through the backing array). Kernels take its raw buffer
/// through `withUnsafeBufferPointer`/`withUnsafeMutableBufferPointer`; element `[i, j, k]` of a
/// shape `[a, b, c]` tensor lives at `(i * b + j) * c + k`.
public struct Tensor<T: Real>: Equatable, Sendable {
    public private(set) var shape: [Int]
    public var storage: [T]

    // Specialised: the generic fill copied element by element through value witnesses (1.3%
    // of a dnc-paper training step went to zeroing states).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public init(shape: [Int], repeating value: T = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.storage = Array(repeating: value, count: shape.reduce(1, *))
    }

    public init(shape: [Int], storage: [T]) {
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    public static func zeros(_ shape: Int...) -> Tensor { Tensor(shape: shape) }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// Flat element access.
    @inlinable public subscript(flat index: Int) -> T {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// Multi-index element access (checked; for tests and glue code, not hot loops).
    public subscript(_ indices: Int...) -> T {
        get { storage[flatIndex(indices)] }
        set { storage[flatIndex(indices)] = newValue }
    }

    public func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "index \(indices) has the wrong rank for shape \(shape)")
        var flat = 0
        for (i, dim) in zip(indices, shape) {
            precondition(i >= 0 && i < dim, "index \(indices) out of bounds for shape \(shape)")
            flat = flat * dim + i
        }
        return flat
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// The contiguous block at `index` along the first axis (a copy).
    public func slice(_ index: Int) -> Tensor {
        precondition(rank >= 1 && index >= 0 && index < shape[0], "slice \(index) out of bounds for \(shape)")
        let inner = Array(shape.dropFirst())
        let size = inner.reduce(1, *)
        return Tensor(shape: inner, storage: Array(storage[index * size ..< (index + 1) * size]))
    }

    /// Entries `range` of the leading axis, e.g. time steps of a time-major (T, B, X) tensor.
    public func leadingRange(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "range \(range) is outside the leading axis 0..<\(shape.first ?? 0)")
        let row = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + shape.dropFirst(), storage: Array(storage[range.lowerBound * row ..< range.upperBound * row]))
    }

    /// Overwrites entries `offset ..< offset + part.shape[0]` of the leading axis with `part`'s.
    public mutating func replaceLeadingRange(at offset: Int, with part: Tensor) {
        precondition(Array(part.shape.dropFirst()) == Array(shape.dropFirst()) && offset >= 0 && offset + part.shape[0] <= shape[0],
                     "a \(part.shape) part does not fit at \(offset) in \(shape)")
        let row = shape.dropFirst().reduce(1, *)
        storage.replaceSubrange(offset * row ..< (offset + part.shape[0]) * row, with: part.storage)
    }

    /// The tensor with its first two axes exchanged: (T, B, …) ↔ (B, T, …), a copy.
    public func swappingFirstTwoAxes() -> Tensor {
        precondition(rank >= 2, "swapping axes needs rank ≥ 2, shape is \(shape)")
        let (a, b) = (shape[0], shape[1])
        let inner = shape.dropFirst(2).reduce(1, *)
        var result = Tensor(shape: [b, a] + shape.dropFirst(2))
        storage.withUnsafeBufferPointer { source in
            result.storage.withUnsafeMutableBufferPointer { target in
                for i in 0..<a {
                    for j in 0..<b {
                        (target.baseAddress! + (j * a + i) * inner).update(from: source.baseAddress! + (i * b + j) * inner, count: inner)
                    }
                }
            }
        }
        return result
    }

    public func converted<U: Real>(to _: U.Type = U.self) -> Tensor<U> {
        Tensor<U>(shape: shape, storage: storage.map { U($0) })
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<T>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }
}

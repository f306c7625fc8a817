import DNCNumerics

/// Where one named parameter lives inside a `ParameterStore`.
public struct ParameterSlot: Hashable, Sendable, CustomStringConvertible {
    /// Stable name; it becomes the dataset path in checkpoints (`params/<name>`), so it follows
    /// PyTorch's `state_dict` naming where a PyTorch equivalent exists.
    public let name: String
    /// Element offset into the store's flat buffers.
    public let offset: Int
    public let shape: [Int]
    public var count: Int { shape.reduce(1, *) }
    public var description: String { "\(name) \(shape)" }
}

/// All parameters of a model in one contiguous buffer, and all their gradients in a second one
/// of the same layout, so an optimiser step or an allreduce is one pass over one buffer.
///
/// Layers register their parameters once, at construction, and keep only the `ParameterSlot`s;
/// they fetch pointers with `values(_:)`/`gradients(_:)` on every use, because registering a
/// new parameter may move the buffers.
public final class ParameterStore<T: Real>: @unchecked Sendable {
    public private(set) var slots: [ParameterSlot] = []
    private var index: [String: Int] = [:]
    private var capacity = 0
    /// Number of scalar parameters.
    public private(set) var count = 0
    /// Flat parameter values, `count` elements.
    public private(set) var values: UnsafeMutablePointer<T>
    /// Flat gradients, same layout as `values`.
    public private(set) var gradients: UnsafeMutablePointer<T>

    public init() {
        values = .allocate(capacity: 1)
        gradients = .allocate(capacity: 1)
    }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// Registers a zero-initialised parameter. Names must be unique.
    @discardableResult
    public func add(_ name: String, shape: [Int]) -> ParameterSlot {
        precondition(index[name] == nil, "parameter '\(name)' registered twice")
        precondition(shape.allSatisfy { $0 >= 0 }, "parameter '\(name)' has a negative dimension \(shape)")
        let slot = ParameterSlot(name: name, offset: count, shape: shape)
        reserve(count + slot.count)
        (values + count).initialize(repeating: 0, count: slot.count)
        (gradients + count).initialize(repeating: 0, count: slot.count)
        count += slot.count
        index[name] = slots.count
        slots.append(slot)
        return slot
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let newCapacity = Swift.max(needed, capacity * 2, 64)
        for keyPath in [\ParameterStore.values, \ParameterStore.gradients] {
            let fresh = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
            fresh.moveInitialize(from: self[keyPath: keyPath], count: count)
            self[keyPath: keyPath].deallocate()
            self[keyPath: keyPath] = fresh
        }
        capacity = newCapacity
    }

    public func slot(named name: String) -> ParameterSlot? { index[name].map { slots[$0] } }

    @inlinable public func values(_ slot: ParameterSlot) -> UnsafeMutablePointer<T> { values + slot.offset }
    @inlinable public func gradients(_ slot: ParameterSlot) -> UnsafeMutablePointer<T> { gradients + slot.offset }

    public func zeroGradients() { gradients.update(repeating: 0, count: count) }

    /// A copy of one parameter as a tensor.
    public func tensor(_ slot: ParameterSlot) -> Tensor<T> {
        Tensor(shape: slot.shape, storage: Array(UnsafeBufferPointer(start: values(slot), count: slot.count)))
    }

    /// A copy of one parameter's gradient as a tensor.
    public func gradientTensor(_ slot: ParameterSlot) -> Tensor<T> {
        Tensor(shape: slot.shape, storage: Array(UnsafeBufferPointer(start: gradients(slot), count: slot.count)))
    }

    /// Overwrites one parameter; the shape must match exactly.
    public func set(_ slot: ParameterSlot, to tensor: Tensor<T>) {
        precondition(tensor.shape == slot.shape, "parameter '\(slot.name)' has shape \(slot.shape), got \(tensor.shape)")
        tensor.withUnsafeBufferPointer { values(slot).update(from: $0.baseAddress!, count: slot.count) }
    }

    /// All values as one array (for checkpoints, checksums and tests).
    public var flatValues: [T] { Array(UnsafeBufferPointer(start: values, count: count)) }
    public var flatGradients: [T] { Array(UnsafeBufferPointer(start: gradients, count: count)) }

    /// Fills a parameter with U(-bound, bound) draws from `random`, keyed by the slot's offset
    /// so every parameter gets its own reproducible numbers.
    public func initializeUniform(_ slot: ParameterSlot, bound: T, random: CounterRandom, stream: UInt64) {
        let p = values(slot)
        for i in 0..<slot.count {
            p[i] = random.uniform(T.self, stream: stream, index: UInt64(slot.offset + i), low: -bound, high: bound)
        }
    }
}

/// A buffer that a memory keeps between steps and grows when a step needs more, so that a warm
/// backward allocates nothing per sample. Not thread-safe: one step at a time per owner.
final class ReusableBuffer<Element>: @unchecked Sendable {
    private var storage: UnsafeMutablePointer<Element>
    private var capacity = 0
    private let zero: Element

    init(zero: Element) {
        self.zero = zero
        storage = .allocate(capacity: 1)
        storage.initialize(to: zero)
        capacity = 1
    }

    deinit { storage.deinitialize(count: capacity); storage.deallocate() }

    /// At least `count` elements, all set to `value`; valid until the next call.
    func take(_ count: Int, filledWith value: Element) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            storage.deinitialize(count: capacity)
            storage.deallocate()
            capacity = Swift.max(count, 2 * capacity)
            storage = .allocate(capacity: capacity)
            storage.initialize(repeating: zero, count: capacity)
        }
        storage.update(repeating: value, count: count)
        return storage
    }
}

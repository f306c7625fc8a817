import DNCNumerics

/// The sample a debug dump records, beside its memory tensors: what went in, what the task
/// wanted and what came out, so a dump can be read without regenerating the batch.
public struct DebugSample: Sendable {
    /// (T, X): the sample's inputs, time-major.
    public var input: Tensor<Float>
    /// The task's target for the sample: its batch axis (axis 1) removed.
    public var target: Tensor<Float>
    /// (T, Y): the model's logits (before the task's sigmoid or softmax).
    public var output: Tensor<Float>
    /// (T): 1 where the loss judges step t, for tasks with a per-sample mask; else nil.
    public var mask: Tensor<Float>?

    public init(input: Tensor<Float>, target: Tensor<Float>, output: Tensor<Float>, mask: Tensor<Float>? = nil) {
        self.input = input
        self.target = target
        self.output = output
        self.mask = mask
    }

    /// Sample `element` of a batch whose tensors all hold the batch on axis 1.
    public init(batch: TaskBatch, logits: Tensor<Float>, element: Int) {
        self.init(input: Self.slice(batch.inputs, element), target: Self.slice(batch.targets, element),
                  output: Self.slice(logits, element), mask: batch.mask.map { Self.slice($0, element) })
    }

    /// Element `b` of axis 1: shape (A, B, rest...) → (A, rest...); (A, B) → (A).
    static func slice(_ tensor: Tensor<Float>, _ b: Int) -> Tensor<Float> {
        let shape = tensor.shape
        precondition(shape.count >= 2 && b >= 0 && b < shape[1], "batch element \(b) out of range of shape \(shape)")
        let rest = Array(shape.dropFirst(2)), width = rest.reduce(1, *), batch = shape[1]
        var storage: [Float] = []
        storage.reserveCapacity(shape[0] * width)
        for a in 0..<shape[0] {
            let start = (a * batch + b) * width
            storage.append(contentsOf: tensor.storage[start ..< start + width])
        }
        return Tensor(shape: [shape[0]] + rest, storage: storage)
    }
}

import DNCNumerics

/// Per-call work buffers of the model (B rows each).
final class Scratch<T: Real> {
    let controllerOutput: UnsafeMutablePointer<T>
    let reads: UnsafeMutablePointer<T>
    let outputRows: UnsafeMutablePointer<T>
    let dUpper: UnsafeMutablePointer<T>
    let memoryInputGradient: UnsafeMutablePointer<T>
    private let chiGradients: [UnsafeMutablePointer<T>]
    private let allocations: [(UnsafeMutablePointer<T>, Int)]

    init(batch: Int, configuration c: DNCConfiguration) {
        func make(_ count: Int) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(count, 1))
            p.initialize(repeating: 0, count: Swift.max(count, 1))
            return p
        }
        let h = c.hiddenSize, rw = c.readWidth
        controllerOutput = make(batch * h)
        reads = make(batch * rw)
        outputRows = make(batch * c.resolvedOutputSize)
        dUpper = make(batch * (h + rw))
        memoryInputGradient = make(batch * h)
        // Two alternating buffers for the gradient of controller inputs.
        chiGradients = [make(batch * (Swift.max(c.inputSize, h) + rw)), make(batch * (Swift.max(c.inputSize, h) + rw))]
        allocations = [controllerOutput, reads, outputRows, dUpper, memoryInputGradient].map { ($0, 0) } + chiGradients.map { ($0, 0) }
    }

    func dChi(_ layer: Int) -> UnsafeMutablePointer<T> { chiGradients[layer % 2] }

    deinit { for (p, _) in allocations { p.deallocate() } }
}

import DNCNumerics
import DNCLayers

/// What `DNC.forward` keeps for `DNC.backward` besides the controllers' and memories' own tapes:
/// per step, the input of every controller χ⁽ˡ⁾ (B × width_ℓ, width 0 = X + R·W, others H + R·W),
/// the output layer's input χ⁽ᴸ⁾ = [o ; r], and each controller's unclipped output h (B × H).
final class ModelTape<T: Real> {
    struct Layout {
        let batch: Int
        /// Offsets within a step's record.
        var chi: [Int] = []
        var chiWidth: [Int] = []
        var hidden: [Int] = []
        var size = 0

        init(configuration c: DNCConfiguration, batch: Int) {
            self.batch = batch
            for layer in 0...c.layerCount {
                let width = (layer == 0 ? c.inputSize : c.hiddenSize) + c.readWidth
                chi.append(size); chiWidth.append(width); size += batch * width
            }
            for _ in 0..<c.layerCount { hidden.append(size); size += batch * c.hiddenSize }
        }
    }

    private(set) var layout: Layout?
    private(set) var steps = 0
    private(set) var recording = false
    private(set) var passThroughMemory = true
    private(set) var resetExperience = false
    private(set) var initialLastRead = Tensor<T>(shape: [0])
    private var lengths: [Int]?
    private var buffer = UnsafeMutablePointer<T>.allocate(capacity: 1)
    private var capacity = 0

    deinit { buffer.deallocate() }

    func begin(layout: Layout, steps: Int, recording: Bool, lengths: [Int]?, passThroughMemory: Bool,
                        resetExperience: Bool, initialLastRead: Tensor<T>) {
        self.layout = layout
        self.steps = steps
        self.recording = recording
        self.lengths = lengths
        self.passThroughMemory = passThroughMemory
        self.resetExperience = resetExperience
        self.initialLastRead = initialLastRead
        // Without recording one step's record is reused.
        let needed = Swift.max(layout.size * (recording ? steps : 1), 1)
        if capacity < needed {
            buffer.deallocate()
            buffer = .allocate(capacity: needed)
            buffer.initialize(repeating: 0, count: needed)
            capacity = needed
        }
    }

    /// The record of step t (valid until the next `begin`).
    func record(_ t: Int) -> UnsafeMutablePointer<T> {
        buffer + (recording ? t * layout!.size : 0)
    }

    /// Which samples are still running at step t; nil when all are.
    func active(step t: Int) -> [Bool]? {
        guard let lengths, lengths.contains(where: { $0 <= t }) else { return nil }
        return lengths.map { t < $0 }
    }
}

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

/// The rows of a recurrent state that belong to finished samples, saved so that a step can be
/// undone for them (variable-length batches).
struct RecurrentRows<T: Real> {
    let inactive: [Int]
    let hiddenSize: Int
    let layers: Int
    let batch: Int
    private var saved: RecurrentState<T>

    init?(saving state: RecurrentState<T>, inactive flags: [Bool]) {
        let rows = flags.indices.filter { !flags[$0] }
        if rows.isEmpty { return nil }
        inactive = rows
        saved = state
        layers = state.hidden.shape[0]; batch = state.hidden.shape[1]; hiddenSize = state.hidden.shape[2]
    }

    private func copyRows(from source: Tensor<T>, into target: inout Tensor<T>) {
        for l in 0..<layers { for b in inactive { for j in 0..<hiddenSize {
            let i = (l * batch + b) * hiddenSize + j
            target[flat: i] = source[flat: i]
        } } }
    }

    /// Puts the saved rows back.
    func restore(into state: inout RecurrentState<T>) {
        copyRows(from: saved.hidden, into: &state.hidden)
        if let cell = saved.cell { copyRows(from: cell, into: &state.cell!) }
    }

    /// Zeroes the inactive rows of `state`.
    func zero(in state: inout RecurrentState<T>) {
        let zeros = Tensor<T>(shape: saved.hidden.shape)
        copyRows(from: zeros, into: &state.hidden)
        if state.cell != nil { copyRows(from: zeros, into: &state.cell!) }
    }

    /// Zeroes the inactive rows of a B × width matrix.
    func zeroRows(_ matrix: UnsafeMutablePointer<T>, width: Int) {
        for b in inactive { Kernels.fill(matrix + b * width, count: width, with: 0) }
    }
}

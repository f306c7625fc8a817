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

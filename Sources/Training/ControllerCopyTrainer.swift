import DNCNumerics
import DNCLayers
import Foundation

/// Trains a `ControllerModel` on the copy task with the seed's loop (tasks.md §1.3): draw a
/// length, generate a batch, BCE-with-logits over every element, clip the global gradient norm,
/// optimiser step; a summary every `summarizeEvery` steps.
public struct ControllerCopyTrainer {
    public struct Configuration: Sendable {
        public var inputSize = 6
        public var hiddenSize = 64
        public var depth = 2
        public var cell: RecurrentCellKind = .lstm
        public var batchSize = 16
        public var maxLength = 4
        public var iterations = 300
        public var optimiser = "adam"
        public var learningRate = 1e-3
        public var clip = 50.0
        public var summarizeEvery = 50
        public var seed: UInt64 = 1
        public init() {}
    }

    /// Mean over one summary window.
    public struct Summary: Sendable {
        public let step: Int
        public let loss: Double
        public let bitErrorsPerSequence: Double
        public let maskedBitAccuracy: Double
        public let sequencesPerSecond: Double
    }

    public let configuration: Configuration
    public let model: ControllerModel
    let optimiser: any Optimiser<Float>
    let task: CopyTask

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        model = ControllerModel(kind: configuration.cell, inputSize: configuration.inputSize,
                                hiddenSize: configuration.hiddenSize, depth: configuration.depth,
                                outputSize: configuration.inputSize, seed: configuration.seed)
        optimiser = try Optimisers.seed(configuration.optimiser, learningRate: configuration.learningRate)
        task = CopyTask(inputSize: configuration.inputSize, seed: configuration.seed)
    }

    /// Runs the training; `report` receives each summary. Returns the last one.
    @discardableResult
    public func run(report: (Summary) -> Void) -> Summary? {
        let c = configuration
        var dropout = CounterRandom(seed: c.seed).sequence(stream: 0xD809)
        var windowLoss = 0.0, windowErrors = 0.0, windowAccuracy = 0.0, windowCount = 0, windowSequences = 0
        var windowStart = Date()
        var last: Summary?
        for step in 0..<c.iterations {
            let length = task.length(step: step, maxLength: c.maxLength)
            let batch = task.batch(step: step, length: length, firstSample: 0, count: c.batchSize)
            model.store.zeroGradients()
            let logits = model.forward(batch.inputs, training: true, dropoutRandom: &dropout)
            let (loss, gradient) = Losses.binaryCrossEntropyWithLogits(logits, targets: batch.targets)
            model.backward(logitGradients: gradient)
            _ = clipGlobalNorm(model.store, maxNorm: c.clip)
            optimiser.step(store: model.store)

            let metric = SequenceMetrics.bitErrors(logits: logits, targets: batch.targets, mask: batch.outputMask)
            windowLoss += Double(loss); windowErrors += metric.perSequence; windowAccuracy += metric.accuracy
            windowCount += 1; windowSequences += c.batchSize
            if (step + 1) % c.summarizeEvery == 0 || step + 1 == c.iterations {
                let seconds = Date().timeIntervalSince(windowStart)
                let n = Double(windowCount)
                let summary = Summary(step: step + 1, loss: windowLoss / n, bitErrorsPerSequence: windowErrors / n,
                                      maskedBitAccuracy: windowAccuracy / n,
                                      sequencesPerSecond: Double(windowSequences) / Swift.max(seconds, 1e-9))
                report(summary)
                last = summary
                windowLoss = 0; windowErrors = 0; windowAccuracy = 0; windowCount = 0; windowSequences = 0
                windowStart = Date()
            }
        }
        return last
    }
}

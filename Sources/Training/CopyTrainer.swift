import DNCNumerics
import DNCLayers
import DNCModels
import Foundation

/// Trains a model on the copy task with the seed's loop (tasks.md §1.3): draw a length,
/// generate a batch, BCE-with-logits over every element, clip the global gradient norm,
/// optimiser step; a summary every `summarizeEvery` steps.
public struct CopyTrainer {
    public enum Model: Sendable {
        /// The DNC; its input and output widths are the task's, its layout is set time-major.
        case dnc(DNCConfiguration)
        /// The recurrent controller alone (a baseline without memory).
        case controllerOnly(cell: RecurrentCellKind, hiddenSize: Int, depth: Int)
    }

    public struct Configuration: Sendable {
        public var inputSize = 6
        public var model: Model = .dnc(DNCConfiguration(inputSize: 6, hiddenSize: 64))
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
    public let model: any SequenceModel
    let optimiser: any Optimiser<Float>
    let task: CopyTask

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        switch configuration.model {
        case .dnc(var c):
            c.inputSize = configuration.inputSize
            c.outputSize = configuration.inputSize
            c.batchFirst = false
            c.preset = .paper
            model = DNC<Float>(c, seed: configuration.seed)
        case .controllerOnly(let cell, let hiddenSize, let depth):
            model = ControllerModel(kind: cell, inputSize: configuration.inputSize, hiddenSize: hiddenSize, depth: depth,
                                    outputSize: configuration.inputSize, seed: configuration.seed)
        }
        optimiser = try Optimisers.seed(configuration.optimiser, learningRate: configuration.learningRate)
        task = CopyTask(inputSize: configuration.inputSize, seed: configuration.seed)
    }

    /// Runs the training; `report` receives each summary. Returns the last one.
    @discardableResult
    public func run(report: (Summary) -> Void) -> Summary? {
        let c = configuration
        var windowLoss = 0.0, windowErrors = 0.0, windowAccuracy = 0.0, windowCount = 0, windowSequences = 0
        var windowStart = Date()
        var last: Summary?
        for step in 0..<c.iterations {
            let length = task.length(step: step, maxLength: c.maxLength)
            let batch = task.batch(step: step, length: length, firstSample: 0, count: c.batchSize)
            model.parameters.zeroGradients()
            let logits = model.forwardSequence(batch.inputs, lengths: nil, training: true, debug: false).logits
            let (loss, gradient) = Losses.binaryCrossEntropyWithLogits(logits, targets: batch.targets)
            model.backwardSequence(logitGradients: gradient)
            _ = clipGlobalNorm(model.parameters, maxNorm: c.clip)
            optimiser.step(store: model.parameters)

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

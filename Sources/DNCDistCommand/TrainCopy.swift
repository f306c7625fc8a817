import ArgumentParser
import DNCLayers
import DNCTraining
import Foundation

/// `dnc-dist train copy`: the copy task (tasks.md §2). For now the model is the recurrent
/// controller alone (no external memory); the memory models plug in here.
struct TrainCopy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Train on the copy task (recurrent controller, no external memory yet).")

    @Option(name: .customLong("input_size"), help: "Input width X (X-1 data bits and an end marker).")
    var inputSize = 6
    @Option(name: .customLong("rnn_type"), help: "Controller cell: lstm, gru or rnn.")
    var rnnType = "lstm"
    @Option(help: "RNN nonlinearity for rnn_type rnn: tanh or relu.")
    var nonlinearity = "tanh"
    @Option(help: "Controller hidden size.")
    var nhid = 64
    @Option(help: "Recurrent layers in the controller.")
    var nhlayer = 2
    @Option(help: "Optimiser: adam, adamax, rmsprop, sgd, adagrad, adadelta.")
    var optim = "adam"
    @Option(help: "Learning rate.")
    var lr = 1e-3
    @Option(help: "Global gradient-norm clip.")
    var clip = 50.0
    @Option(name: .customLong("batch_size"), help: "Sequences per step.")
    var batchSize = 16
    @Option(name: .customLong("sequence_max_length"), help: "Longest training sequence length L.")
    var sequenceMaxLength = 4
    @Option(help: "Training steps.")
    var iterations = 300
    @Option(name: .customLong("summarize_freq"), help: "Steps between progress lines.")
    var summarizeFreq = 50
    @Option(help: "Random seed (data and initial weights).")
    var seed: UInt64 = 1

    func validate() throws {
        guard inputSize >= 2 else { throw ValidationError("--input_size must be at least 2, got \(inputSize)") }
        guard RecurrentCellKind(rnnType: rnnType, nonlinearity: nonlinearity) != nil else {
            throw ValidationError("--rnn_type '\(rnnType)' (nonlinearity '\(nonlinearity)') is not one of lstm, gru, rnn (tanh|relu)")
        }
        guard nhid >= 1 else { throw ValidationError("--nhid must be positive, got \(nhid)") }
        guard nhlayer >= 1 else { throw ValidationError("--nhlayer must be positive, got \(nhlayer)") }
        guard Optimisers.names.contains(optim) else {
            throw ValidationError("--optim '\(optim)' is not one of \(Optimisers.names.joined(separator: ", "))")
        }
        guard lr.isFinite && lr > 0 else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard clip.isFinite && clip > 0 else { throw ValidationError("--clip must be a positive number, got \(clip)") }
        guard batchSize >= 1 else { throw ValidationError("--batch_size must be positive, got \(batchSize)") }
        guard sequenceMaxLength >= 1 else { throw ValidationError("--sequence_max_length must be positive, got \(sequenceMaxLength)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be positive, got \(iterations)") }
        guard summarizeFreq >= 1 else { throw ValidationError("--summarize_freq must be positive, got \(summarizeFreq)") }
    }

    func run() throws {
        var c = ControllerCopyTrainer.Configuration()
        c.inputSize = inputSize
        c.cell = RecurrentCellKind(rnnType: rnnType, nonlinearity: nonlinearity)!
        c.hiddenSize = nhid
        c.depth = nhlayer
        c.optimiser = optim
        c.learningRate = lr
        c.clip = clip
        c.batchSize = batchSize
        c.maxLength = sequenceMaxLength
        c.iterations = iterations
        c.summarizeEvery = summarizeFreq
        c.seed = seed
        let trainer = try ControllerCopyTrainer(c)
        print("copy task: \(c.cell) controller, \(c.depth)×\(c.hiddenSize), batch \(c.batchSize), L ≤ \(c.maxLength), "
              + "\(c.optimiser) lr \(c.learningRate), \(trainer.model.store.count) parameters")
        let last = trainer.run { s in
            print(String(format: "step %6d  loss %.4f  bit errors/seq %.3f  masked bit acc %.4f  %.0f seq/s",
                         s.step, s.loss, s.bitErrorsPerSequence, s.maskedBitAccuracy, s.sequencesPerSecond))
        }
        if let last, !last.loss.isFinite {
            throw ValidationError("training diverged: loss is \(last.loss) at step \(last.step)")
        }
    }
}

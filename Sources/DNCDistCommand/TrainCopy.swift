import ArgumentParser
import DNCLayers
import DNCTraining
import DNCModels
import Foundation

/// `dnc-dist train copy`: the copy task (tasks.md §2) with the seed's flags and defaults.
struct TrainCopy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Train a DNC (or the controller alone) on the copy task.")

    @Option(name: .customLong("input_size"), help: "Input width X (X-1 data bits and an end marker).")
    var inputSize = 6
    @Option(name: .customLong("rnn_type"), help: "Controller cell: lstm, gru or rnn.")
    var rnnType = "lstm"
    @Option(help: "RNN nonlinearity for rnn_type rnn: tanh or relu.")
    var nonlinearity = "tanh"
    @Option(name: .customLong("memory_type"), help: "dnc, or none for the controller alone.")
    var memoryType = "dnc"
    @Option(help: "Controller hidden size.")
    var nhid = 64
    @Option(help: "DNC layers (controller + memory) per step.")
    var nlayer = 1
    @Option(help: "Recurrent layers in each controller.")
    var nhlayer = 2
    @Option(help: "Dropout between controller layers.")
    var dropout = 0.0
    @Option(name: .customLong("mem_slot"), help: "Memory cells N.")
    var memSlot = 16
    @Option(name: .customLong("mem_size"), help: "Memory cell width W.")
    var memSize = 20
    @Option(name: .customLong("read_heads"), help: "Read heads R.")
    var readHeads = 4
    @Option(help: "Optimiser: adam, adamax, rmsprop, sgd, adagrad, adadelta.")
    var optim = "adam"
    @Option(help: "Learning rate.")
    var lr = 1e-4
    @Option(help: "Global gradient-norm clip.")
    var clip = 50.0
    @Option(name: .customLong("batch_size"), help: "Sequences per step.")
    var batchSize = 100
    @Option(name: .customLong("sequence_max_length"), help: "Longest training sequence length L.")
    var sequenceMaxLength = 4
    @Option(help: "Training steps.")
    var iterations = 100_000
    @Option(name: .customLong("summarize_freq"), help: "Steps between progress lines.")
    var summarizeFreq = 100
    @Option(help: "Random seed (data and initial weights).")
    var seed: UInt64 = 1

    func validate() throws {
        guard inputSize >= 2 else { throw ValidationError("--input_size must be at least 2, got \(inputSize)") }
        guard RecurrentCellKind(rnnType: rnnType, nonlinearity: nonlinearity) != nil else {
            throw ValidationError("--rnn_type '\(rnnType)' (nonlinearity '\(nonlinearity)') is not one of lstm, gru, rnn (tanh|relu)")
        }
        guard nhid >= 1 else { throw ValidationError("--nhid must be positive, got \(nhid)") }
        guard ["dnc", "none"].contains(memoryType) else {
            throw ValidationError("--memory_type '\(memoryType)' is not one of dnc, none")
        }
        for (name, value) in [("nhlayer", nhlayer), ("nlayer", nlayer), ("mem_slot", memSlot), ("mem_size", memSize), ("read_heads", readHeads)] {
            guard value >= 1 else { throw ValidationError("--\(name) must be positive, got \(value)") }
        }
        guard dropout >= 0 && dropout < 1 else { throw ValidationError("--dropout must be in [0, 1), got \(dropout)") }
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
        var c = CopyTrainer.Configuration()
        c.inputSize = inputSize
        let cell = RecurrentCellKind(rnnType: rnnType, nonlinearity: nonlinearity)!
        if memoryType == "none" {
            c.model = .controllerOnly(cell: cell, hiddenSize: nhid, depth: nhlayer)
        } else {
            var d = DNCConfiguration(inputSize: inputSize, hiddenSize: nhid)
            d.cell = cell
            d.layerCount = nlayer
            d.controllerDepth = nhlayer
            d.dropout = dropout
            d.cellCount = memSlot
            d.cellWidth = memSize
            d.readHeads = readHeads
            c.model = .dnc(d)
        }
        c.optimiser = optim
        c.learningRate = lr
        c.clip = clip
        c.batchSize = batchSize
        c.maxLength = sequenceMaxLength
        c.iterations = iterations
        c.summarizeEvery = summarizeFreq
        c.seed = seed
        let trainer = try CopyTrainer(c)
        let model = memoryType == "none" ? "\(cell) controller \(nhlayer)×\(nhid), no memory"
            : "DNC: \(cell) controller \(nhlayer)×\(nhid), memory \(memSlot)×\(memSize), \(readHeads) read heads"
        print("copy task: \(model), batch \(c.batchSize), L ≤ \(c.maxLength), "
              + "\(c.optimiser) lr \(c.learningRate), \(trainer.model.parameters.count) parameters")
        let last = trainer.run { s in
            print(String(format: "step %6d  loss %.4f  bit errors/seq %.3f  masked bit acc %.4f  %.0f seq/s",
                         s.step, s.loss, s.bitErrorsPerSequence, s.maskedBitAccuracy, s.sequencesPerSecond))
        }
        if let last, !last.loss.isFinite {
            throw ValidationError("training diverged: loss is \(last.loss) at step \(last.step)")
        }
    }
}

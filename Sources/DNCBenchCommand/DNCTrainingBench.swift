import DNCLayers
import DNCModels
import DNCNumerics
import DNCTraining
import Foundation

/// The DNC configurations of the performance targets (issue: dense DNC), each measured as a
/// full training step: forward, BCE-with-logits, backward, Adam step; copy task, input width 6,
/// batch-first, one BLAS thread.
struct DNCBenchConfiguration: Sendable {
    let name: String
    let hiddenSize: Int
    let controllerDepth: Int
    let cells: Int
    let width: Int
    let readHeads: Int
    let batch: Int
    /// Copy length L; a sequence has 2L + 1 steps.
    let copyLength: Int
    /// pytorch-dnc's ms per step as the issue text reports it (PyTorch 2.13, one CPU thread), measured
    /// on another machine: a reference only. `dnc-bench --pytorch PYTHON` measures it here instead.
    let pytorchReferenceMilliseconds: Double

    static let all = [
        DNCBenchConfiguration(name: "dnc-small", hiddenSize: 64, controllerDepth: 2, cells: 16, width: 20, readHeads: 4,
                              batch: 32, copyLength: 8, pytorchReferenceMilliseconds: 68),
        DNCBenchConfiguration(name: "dnc-paper", hiddenSize: 256, controllerDepth: 1, cells: 64, width: 32, readHeads: 4,
                              batch: 16, copyLength: 20, pytorchReferenceMilliseconds: 284),
        DNCBenchConfiguration(name: "dnc-large-mem", hiddenSize: 128, controllerDepth: 1, cells: 256, width: 32, readHeads: 4,
                              batch: 8, copyLength: 20, pytorchReferenceMilliseconds: 625),
    ]

    /// The model's configuration: copy task input width 6, batch-first.
    var dncConfiguration: DNCConfiguration {
        var c = DNCConfiguration(inputSize: 6, hiddenSize: hiddenSize)
        c.controllerDepth = controllerDepth
        c.cellCount = cells
        c.cellWidth = width
        c.readHeads = readHeads
        c.batchFirst = true
        return c
    }

    /// Median seconds per training step over `repeats` steps after one warm-up step.
    func measure(repeats: Int) throws -> [Double] {
        try timeTrainingSteps(dncConfiguration, batch: batch, copyLength: copyLength, repeats: repeats)
    }
}

/// Times full training steps (forward, BCE, backward, clipping, Adam) of a DNC built from `c`
/// on one fixed copy-task batch: sorted durations of `repeats` steps after one warm-up step.
///
/// With `carrying`, every step starts from that state and leaves it at its end (a long episode:
/// a sparse memory stays full); `afterWarmUp` runs between the warm-up step and the timed ones.
func timeTrainingSteps(_ c: DNCConfiguration, model given: DNC<Float>? = nil, batch: Int, copyLength: Int, repeats: Int,
                       carrying carried: DNCState<Float>? = nil, afterWarmUp: () -> Void = {}) throws -> [Double] {
    let step = try trainingStep(c, model: given, batch: batch, copyLength: copyLength, carrying: carried)
    return Timing.samples(repeats: repeats, afterWarmUp: afterWarmUp, step)
}

/// One full training step (forward, BCE, backward, clipping, Adam) of a DNC built from `c` on
/// one fixed copy-task batch, as a closure to call once per step; see `timeTrainingSteps`.
func trainingStep(_ c: DNCConfiguration, model given: DNC<Float>? = nil, batch: Int, copyLength: Int,
                  carrying carried: DNCState<Float>? = nil) throws -> () -> Void {
    let model = given ?? DNC<Float>(c, seed: 1)
    let optimiser = try Optimisers.seed("adam", learningRate: 1e-4, scalar: Float.self)
    let data = try CopyTask(inputSize: c.inputSize, seed: 1, objective: .allElements)
        .batch(step: 0, firstSample: 0, count: batch, lengths: .fixed(copyLength))
    let input = data.inputs.swappingFirstTwoAxes(), targets = data.targets.swappingFirstTwoAxes()
    var state = carried
    return {
        model.store.zeroGradients()
        let result = model.forward(input, state: state, training: true)
        if carried != nil { state = result.state }
        let logits = result.output
        let (_, gradient) = Losses.binaryCrossEntropyWithLogits(logits, targets: targets)
        _ = model.backward(outputGradient: gradient)
        _ = clipGlobalNorm(model.store, maxNorm: 50)
        optimiser.step(store: model.store)
    }
}

/// Resident set size of this process now, in MiB (Linux: VmRSS of /proc/self/status).
func residentMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
    return kib / 1024
}

/// Peak resident set size of this process, in MiB.
func peakResidentMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // Linux reports KiB
}

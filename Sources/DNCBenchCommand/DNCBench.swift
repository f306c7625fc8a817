import ArgumentParser
import DNCLayers
import DNCNumerics
import Foundation

/// `dnc-bench`: throughput of the numeric core, reported next to the BLAS peak measured on the
/// spot, so a figure is always read against what this machine can do.
@main
struct DNCBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnc-bench",
        abstract: "Measure controller forward+backward throughput against the sgemm peak.")

    @Option(help: "Controller cell: lstm, gru or rnn.") var cell = "lstm"
    @Option(help: "Hidden size H.") var hidden = 256
    @Option(help: "Batch size B.") var batch = 16
    @Option(help: "Input width (default: H).") var input: Int?
    @Option(help: "Recurrent layers.") var layers = 1
    @Option(help: "Time steps per sequence.") var steps = 32
    @Option(help: "Timed repetitions (the median is reported).") var repeats = 7
    @Flag(help: "Print JSON instead of a table.") var json = false

    func validate() throws {
        guard RecurrentCellKind(rnnType: cell) != nil else { throw ValidationError("--cell '\(cell)' is not one of lstm, gru, rnn") }
        for (name, value) in [("hidden", hidden), ("batch", batch), ("layers", layers), ("steps", steps), ("repeats", repeats)] {
            guard value >= 1 else { throw ValidationError("--\(name) must be positive, got \(value)") }
        }
        if let input, input < 1 { throw ValidationError("--input must be positive, got \(input)") }
    }

    static func main() {
        BLASRuntime.relaunchWithBestKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    func run() throws {
        let kind = RecurrentCellKind(rnnType: cell)!
        let inputWidth = input ?? hidden
        let controller = measureController(kind: kind, inputWidth: inputWidth)
        let peak = measureSgemm(m: 1024, n: 1024, k: 1024)
        let shaped = measureSgemm(m: batch, n: kind.gateCount * hidden, k: inputWidth + hidden)
        let result: [String: Any] = [
            "blas": BLASRuntime.summary,
            "cell": kind.description, "hidden": hidden, "batch": batch, "input": inputWidth,
            "layers": layers, "steps": steps, "repeats": repeats,
            "controller_seconds_median": controller.seconds,
            "controller_gflops": controller.gflops,
            "controller_sequences_per_second": Double(batch) / controller.seconds,
            "sgemm_peak_gflops_1024": peak,
            "sgemm_gflops_step_shape": shaped,
            "fraction_of_peak": controller.gflops / peak,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("BLAS: \(BLASRuntime.summary)")
            print("controller \(kind) H=\(hidden) B=\(batch) in=\(inputWidth) layers=\(layers) T=\(steps), median of \(repeats)")
            print(String(format: "%-38@ %12@", "measurement" as NSString, "value" as NSString))
            func row(_ name: String, _ value: String) { print(name.padding(toLength: 38, withPad: " ", startingAt: 0) + value.leftPadded(12)) }
            row("forward+backward per sequence batch", String(format: "%.3f ms", controller.seconds * 1e3))
            row("controller throughput", String(format: "%.1f GFLOP/s", controller.gflops))
            row("sequences per second", String(format: "%.0f", Double(batch) / controller.seconds))
            row("sgemm peak (1024³)", String(format: "%.1f GFLOP/s", peak))
            row("sgemm at the step's shape", String(format: "%.1f GFLOP/s", shaped))
            row("fraction of sgemm peak", String(format: "%.0f %%", 100 * controller.gflops / peak))
        }
    }

    /// Forward and backward through the whole sequence; FLOPs counted from the matrix products
    /// only (forward 2·B·G·(in+H) per layer-step, backward twice that).
    func measureController(kind: RecurrentCellKind, inputWidth: Int) -> (seconds: Double, gflops: Double) {
        let store = ParameterStore<Float>()
        let stack = RecurrentStack(store: store, kind: kind, inputSize: inputWidth, hiddenSize: hidden, depth: layers)
        let random = CounterRandom(seed: 1)
        stack.initializeDefault(random: random, stream: 0)
        let inputs = Tensor<Float>(shape: [steps, batch, inputWidth],
                                   storage: (0..<(steps * batch * inputWidth)).map { Float(random.uniform(stream: 1, index: UInt64($0))) - 0.5 })
        let gradients = Tensor<Float>(shape: [steps, batch, hidden], repeating: 0.01)
        let tape = RecurrentTape<Float>()
        var dropout = random.sequence(stream: 2)
        let times = Timing.samples(repeats: repeats) {
            store.zeroGradients()
            _ = stack.forward(inputs, from: stack.zeroState(batch: batch), tape: tape, dropoutRandom: &dropout)
            _ = stack.backward(tape: tape, outputGradients: gradients)
        }
        let seconds = Timing.median(times)
        var flops = 0.0
        for k in 0..<layers {
            let width = (k == 0 ? inputWidth : hidden) + hidden
            flops += 3 * 2 * Double(batch * kind.gateCount * hidden * width)
        }
        flops *= Double(steps)
        return (seconds, flops / seconds * 1e-9)
    }

    func measureSgemm(m: Int, n: Int, k: Int) -> Double {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        // Enough repetitions for ~50 ms per sample.
        let flopsPerCall = 2.0 * Double(m * n * k)
        let calls = Swift.max(1, Int(2.5e9 / flopsPerCall))
        let times = Timing.samples(repeats: 5) {
            for _ in 0..<calls { Kernels.gemm(transB: true, m: m, n: n, k: k, a: a, b: b, c: &c) }
        }
        return flopsPerCall * Double(calls) / Timing.median(times) * 1e-9
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

import ArgumentParser
import DNCGPU
import DNCGPUTraining
import Foundation

/// `dnc-dist gpu-check`: the kernels of Sources/CGPUKernels on this machine's GPU against their
/// CPU emulation (GPUKernelChecks, the code GPUTests.GPUKernelTests runs), then the GPU back end
/// against the CPU one at the level of training (GPUModelChecks: one training step's loss and
/// gradients, and the loss curves of the trainer), from the binary alone, so that a GPU machine
/// without Swift can run them (scripts/gpu-check.sh run). A subcommand of dnc-dist rather than a
/// dnc-bench row: it is a correctness check, it prints PASS/FAIL and not timings.
struct GPUCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-check",
        abstract: "Run each CUDA kernel and the training step on a GPU and compare them with the CPU.",
        discussion: """
        Compiles every kernel with NVRTC for the GPU (DNC_NVRTC_LIBRARY, else libnvrtc.so.N, /usr/local/cuda*, \
        or python3's nvidia-* packages), runs it on reproducible random inputs and compares each output with the \
        CPU emulation of the same source (1e-12 in f64, 1e-5 in f32; the allocation order exactly). Then, for \
        dnc-small and dnc-paper: one training step on the GPU against the CPU (logits, loss and every gradient, \
        Float, relative 1e-4) and --steps trainer steps' losses (within 1e-3). One line per check, PASS or FAIL. \
        Exit status 0: all pass; 1: a check failed; 2: no usable GPU, driver or NVRTC (one line saying which). \
        --emulated runs the training checks on the CPU emulation of the kernels instead (no GPU needed).
        """)

    @Option(help: "The GPU to check (a CUDA ordinal, after CUDA_VISIBLE_DEVICES).")
    var device = 0

    @Option(help: "Trainer steps whose losses are compared (0: none).")
    var steps = 200

    @Option(help: "The models of the training checks: dnc-small, dnc-paper (comma-separated).")
    var models = "dnc-small,dnc-paper"

    @Flag(help: "Only the kernel checks.")
    var kernelsOnly = false

    @Flag(help: "The training checks on the CPU emulation of the kernels (no GPU; the kernel checks are skipped).")
    var emulated = false

    func validate() throws {
        guard device >= 0 else { throw ValidationError("--device must be a GPU ordinal ≥ 0, got \(device)") }
        guard steps >= 0 else { throw ValidationError("--steps must be ≥ 0, got \(steps)") }
        let known = [GPUModelChecks.Model.small, .paper].map(\.name)
        for name in models.split(separator: ",", omittingEmptySubsequences: false) where !known.contains(String(name)) {
            throw ValidationError("--models: '\(name)' is not one of \(known.joined(separator: ", "))")
        }
        if emulated && kernelsOnly { throw ValidationError("--emulated runs the training checks only; it cannot go with --kernels-only") }
    }

    func run() throws {
        var checks: [GPUKernelChecks.Check] = []
        func report(_ new: [GPUKernelChecks.Check]) {
            for check in new { print(check.line) }
            checks += new
        }
        let makeDevice: @Sendable () throws -> any KernelDevice
        if emulated {
            print("gpu-check: the training checks on the CPU emulation of the kernels (no GPU)")
            makeDevice = { EmulatedKernelDevice() }
        } else {
            let session: GPUKernelSession
            do { session = try GPUKernelSession(device: device) } catch {
                throw ValidationError("gpu-check: \(error.reason)")
            }
            print("gpu-check: \(session.summary)")
            report(GPUKernelChecks.all(session))
            let ordinal = device
            makeDevice = { try CUDAKernelDevice(ordinal: ordinal) }
        }
        if !kernelsOnly {
            let selected = [GPUModelChecks.Model.small, .paper].filter { models.split(separator: ",").map(String.init).contains($0.name) }
            for model in selected {
                do { report(GPUModelChecks.trainingStep(model, device: try makeDevice())) } catch {
                    report([.failed("\(model.name) training step", "\(error)")])
                }
                if steps > 0 { report([GPUModelChecks.lossCurves(model, iterations: steps, device: makeDevice)]) }
            }
        }
        let failed = checks.filter { !$0.passed }.count
        print("gpu-check: \(checks.count - failed) of \(checks.count) checks passed")
        if failed > 0 { throw ExitCode(1) }
    }
}

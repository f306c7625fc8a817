import ArgumentParser
import DNCGPU
import Foundation

/// `dnc-dist gpu-check`: the kernels of Sources/CGPUKernels on this machine's GPU against their
/// CPU emulation (GPUKernelChecks, the code GPUTests.GPUKernelTests runs), from the binary alone,
/// so that a GPU machine without Swift can run them (scripts/gpu-check.sh run). A subcommand of
/// dnc-dist rather than a dnc-bench row: it is a correctness check, it prints PASS/FAIL and not
/// timings, and dnc-dist is the binary that already opens the driver and NVRTC (diagnostics).
struct GPUCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-check",
        abstract: "Run each CUDA kernel on a GPU and compare it with its CPU emulation.",
        discussion: """
        Compiles every kernel with NVRTC for the GPU (DNC_NVRTC_LIBRARY, else libnvrtc.so.N, /usr/local/cuda*, \
        or python3's nvidia-* packages), runs it on reproducible random inputs and compares each output with the \
        CPU emulation of the same source (1e-12 in f64, 1e-5 in f32; the allocation order exactly). \
        One line per check, PASS or FAIL. Exit status 0: all pass; 1: a check failed; 2: no usable GPU, \
        driver or NVRTC (one line saying which).
        """)

    @Option(help: "The GPU to check (a CUDA ordinal, after CUDA_VISIBLE_DEVICES).")
    var device = 0

    func validate() throws {
        guard device >= 0 else { throw ValidationError("--device must be a GPU ordinal ≥ 0, got \(device)") }
    }

    func run() throws {
        let session: GPUKernelSession
        do { session = try GPUKernelSession(device: device) } catch {
            throw ValidationError("gpu-check: \(error.reason)")
        }
        print("gpu-check: \(session.summary)")
        let checks = GPUKernelChecks.all(session)
        for check in checks { print(check.line) }
        let failed = checks.filter { !$0.passed }.count
        print("gpu-check: \(checks.count - failed) of \(checks.count) checks passed")
        if failed > 0 { throw ExitCode(1) }
    }
}

import ArgumentParser
import DNCDistribution
import DNCGPU
import DNCTraining
import Foundation

/// `-cuda N` for one training process (issue #14): the device DeviceSelection picks from the
/// driver, CUDA_VISIBLE_DEVICES and the rank's place on its node. A GPU request that cannot be
/// met ends in a one-line warning and a CPU run (pytorch-dnc command lines stay runnable
/// everywhere), or, under --require-gpu, in an error before any work. The model then goes on
/// the chosen GPU through GPUPlacement.
///
/// `DNC_GPU_EMULATION=1` stands one emulated GPU in for the driver: the GPU back end runs with
/// its kernels emulated on the CPU (EmulatedKernelDevice), so that the GPU path of the real
/// binaries, under mpirun too, is tested on machines without a GPU (docs/gpu-kernels.md).
enum DeviceChoice {
    /// Warns or throws as described; returns the configuration with `cuda` set to the device the
    /// run uses (−1: the CPU).
    static func resolve(_ configuration: TrainingConfiguration, requireGPU: Bool, communicator: Communicator,
                        environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TrainingConfiguration {
        let requested = configuration.cuda
        if requested < 0 {
            if requireGPU { throw ValidationError("--require-gpu needs -cuda N with N ≥ 0 (a GPU), got -cuda \(requested)") }
            return configuration
        }
        let mpi = communicator as? MPICommunicator
        let localRank = mpi?.localRank ?? 0, localSize = mpi?.localSize ?? 1
        let driver = GPUPlacement.emulated(environment) ? .usable(deviceCount: 1) : CUDADriver.status().availability
        var decision = DeviceSelection.decide(requested: requested, localRank: localRank, localSize: localSize,
                                              driver: driver, visibleDevices: environment["CUDA_VISIBLE_DEVICES"])
        // A usable GPU and a model the GPU back end does not run: the CPU, as for no GPU.
        if case .gpu(let device) = decision, let reason = GPUPlacement.unsupportedReason(configuration) {
            decision = .cpuInstead(reason: reason, device: device)
        }
        var result = configuration
        switch decision {
        case .cpu:
            result.cuda = -1
        case .gpu(let device):
            result.cuda = device
        case .cpuInstead(let reason, _):
            if requireGPU { throw ValidationError("--require-gpu: -cuda \(requested): \(reason)") }
            FileHandle.standardError.write(Data((DeviceSelection.warning(requested: requested, reason: reason, rank: communicator.rank,
                                                                         size: communicator.size, localRank: localRank,
                                                                         localSize: localSize) + "\n").utf8))
            result.cuda = -1
        }
        return result
    }
}

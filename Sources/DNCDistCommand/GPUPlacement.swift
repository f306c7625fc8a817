import DNCGPU
import DNCGPUTraining
import DNCModels
import DNCTraining
import Foundation

/// Puts a run's DNC on the GPU `-cuda N` resolved to (DeviceChoice): the CUDA device opened, the
/// kernels compiled for it on first use (cached on disk), the model's training step on the device
/// (GPUSequenceModel). A model the GPU back end does not run (SAM, SDNC, the DNC-MD options) or a
/// device that cannot be opened trains on the CPU after one warning line, or, under
/// --require-gpu, stops the run with one line (exit 2) before any training step.
enum GPUPlacement {
    /// Whether DNC_GPU_EMULATION=1 asks for the emulated GPU (DeviceChoice).
    static func emulated(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["DNC_GPU_EMULATION"] == "1"
    }

    /// Why the run's model cannot train on a GPU, from its configuration alone (so that it is
    /// known before any work), or nil.
    static func unsupportedReason(_ c: TrainingConfiguration) -> String? {
        switch c.memory_type {
        case .dnc: break
        case .controllerOnly: return "the GPU back end runs the DNC (-memory_type none runs on the CPU)"
        default: return "the GPU back end runs the dense DNC only (-memory_type \(c.memory_type.rawValue) runs on the CPU)"
        }
        let options = [("masked_lookup", c.masked_lookup), ("deallocation", c.deallocation), ("link_sharpness", c.link_sharpness)]
            .filter(\.1).map(\.0)
        if !options.isEmpty {
            return "the GPU back end does not run the DNC-MD options (\(options.joined(separator: ", ")) run on the CPU)"
        }
        return nil
    }

    static func placement(requireGPU: Bool, rank: Int) -> ModelPlacement {
        let emulate = emulated()
        return ModelPlacement { dnc, configuration in
            guard configuration.cuda >= 0 else { return nil }
            func refuse(_ reason: String) throws -> (any SequenceModel)? {
                if requireGPU { throw GPURequired("--require-gpu: -cuda \(configuration.cuda): \(reason)") }
                let who = rank > 0 ? "rank \(rank): " : ""
                FileHandle.standardError.write(Data("warning: \(who)-cuda \(configuration.cuda): \(reason); running on the CPU\n".utf8))
                return nil
            }
            if let reason = GPUDNC<Float>.unsupportedReason(dnc) { return try refuse(reason) }
            let device: any KernelDevice
            if emulate {
                device = EmulatedKernelDevice()
            } else {
                do { device = try CUDAKernelDevice(ordinal: configuration.cuda) } catch { return try refuse("\(error)") }
            }
            if rank == 0 { FileHandle.standardError.write(Data("GPU: -cuda \(configuration.cuda): \(device.summary)\n".utf8)) }
            do { return try GPUSequenceModel(dnc, device: device) } catch { return try refuse("\(error)") }
        }
    }
}

/// --require-gpu and no usable GPU: one line, exit 2.
struct GPURequired: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

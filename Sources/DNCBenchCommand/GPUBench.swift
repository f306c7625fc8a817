import ArgumentParser
import DNCGPU
import DNCGPUTraining
import DNCLayers
import DNCModels
import DNCNumerics
import DNCTraining
import Foundation

/// `--only gpu` (or one row, `--only gpu-dnc-paper`): the training step of a GPU rank — the
/// trainer's own path: the batch up; forward, the copy task's loss, backward, clipping and Adam on
/// the device; the loss, metrics and gradient buffer down — for the six configurations of issue #14, with
/// pytorch-dnc's time on an H200 beside it (the measurement) and, with --gpu-cpu, this
/// machine's CPU rank on the same step. `--emulated` runs the kernels through the CPU emulation
/// instead of a GPU (a check that the path works, not a speed).
enum GPUBench {
    struct Row: Sendable {
        let model: GPUModelChecks.Model
        /// pytorch-dnc 2.x on an NVIDIA H200 (PyTorch 2.11, CUDA 13), ms per step (issue #14).
        let pytorchMilliseconds: Double
    }

    static let rows: [Row] = {
        let paper = GPUModelChecks.Model.paper
        func paperLike(_ name: String, cells: Int = 64, batch: Int) -> GPUModelChecks.Model {
            GPUModelChecks.Model(name: name, hidden: 256, depth: 1, cells: cells, width: 32, readHeads: 4, batch: batch, copyLength: 20)
        }
        func largeMemory(_ name: String, batch: Int) -> GPUModelChecks.Model {
            GPUModelChecks.Model(name: name, hidden: 128, depth: 2, cells: 256, width: 32, readHeads: 4, batch: batch, copyLength: 20)
        }
        return [Row(model: .small, pytorchMilliseconds: 141), Row(model: paper, pytorchMilliseconds: 282),
                Row(model: largeMemory("dnc-large-mem", batch: 8), pytorchMilliseconds: 286),
                Row(model: paperLike("dnc-paper-b256", batch: 256), pytorchMilliseconds: 255),
                Row(model: largeMemory("dnc-large-mem-b128", batch: 128), pytorchMilliseconds: 301),
                Row(model: paperLike("dnc-n1024-b32", cells: 1024, batch: 32), pytorchMilliseconds: 354)]
    }()

    static var names: [String] { ["gpu"] + rows.map { "gpu-\($0.model.name)" } }

    /// Median seconds per training step of `model` as `trainingModel` runs it.
    static func stepSeconds(_ trainingModel: any SequenceModel, _ model: GPUModelChecks.Model, repeats: Int) throws -> Double {
        let optimiser = try Optimisers.seed("adam", learningRate: 1e-4, scalar: Float.self)
        let task = try CopyTask(inputSize: 6, seed: 1, objective: .allElements)
        let data = task.batch(step: 0, firstSample: 0, count: model.batch, lengths: .fixed(model.copyLength))
        let store = trainingModel.parameters, resident = trainingModel as? DeviceResidentModel
        var failure: Error?
        let times = Timing.samples(repeats: repeats) {
            store.zeroGradients()
            if let resident {
                // As the trainer steps a GPU rank: the task's loss, clipping and Adam on the device.
                do {
                    guard try resident.lossAndGradientOnDevice(data, task: task, globalBatchSize: model.batch) != nil else {
                        throw GPUUnavailable("the copy task's loss does not run on the device")
                    }
                    _ = try resident.clipGradientsOnDevice(maxNorm: 50, summedOnHost: false)
                    try resident.stepOnDevice(optimiser: optimiser, learningRate: 1e-4)
                } catch { failure = error }
            } else {
                let logits = trainingModel.forwardSequence(data.inputs, lengths: nil, training: true, debug: false).logits
                let evaluation = task.evaluate(logits: logits, batch: data, globalBatchSize: model.batch)
                trainingModel.backwardSequence(logitGradients: evaluation.gradient)
                _ = clipGlobalNorm(store, maxNorm: 50)
                optimiser.step(store: store)
            }
        }
        if let failure { throw failure }
        return Timing.median(times)
    }

    static func run(only: String, device ordinal: Int, emulated: Bool, withCPU: Bool, repeats: Int, json: Bool) throws {
        let selected = only == "gpu" ? rows : rows.filter { "gpu-\($0.model.name)" == only }
        let device: any KernelDevice
        if emulated {
            device = EmulatedKernelDevice()
        } else {
            do { device = try CUDAKernelDevice(ordinal: ordinal) } catch { throw ValidationError("--only \(only): \(error.reason)") }
        }
        if !json {
            print("GPU training step (forward, BCE, backward, clipping, Adam; copy task): \(device.summary)")
            if emulated { print("(emulated: the kernels run on the CPU, one launch after another; this checks the path, it is not a GPU's speed)") }
            print("configuration          batch   GPU ms/step     seq/s   pytorch-dnc H200 ms   ×faster   launches" + (withCPU ? "   CPU rank ms   GPU/CPU seq/s" : ""))
        }
        for row in selected {
            let m = row.model
            let dnc = DNC<Float>(m.dnc, seed: 1)
            let gpu = try GPUSequenceModel(dnc, device: device)
            let launchesBefore = device.launches
            let seconds = try stepSeconds(gpu, m, repeats: repeats)
            // The warm-up step and the timed ones launch the same kernels.
            let launchesPerStep = (device.launches - launchesBefore) / (repeats + 1)
            var result: [String: Any] = ["name": m.name, "batch": m.batch, "gpu_ms": seconds * 1e3, "sequences_per_second": Double(m.batch) / seconds,
                                         "pytorch_h200_ms": row.pytorchMilliseconds, "speedup_vs_pytorch": row.pytorchMilliseconds / (seconds * 1e3),
                                         "device": device.summary, "repeats": repeats, "launches_per_step": launchesPerStep]
            var line = m.name.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: " %5d %13.2f %9.0f %21.0f %9.1f %10d", m.batch, seconds * 1e3, Double(m.batch) / seconds,
                         row.pytorchMilliseconds, row.pytorchMilliseconds / (seconds * 1e3), launchesPerStep)
            if withCPU {
                let cpu = try stepSeconds(DNC<Float>(m.dnc, seed: 1), m, repeats: max(1, min(repeats, 3)))
                result["cpu_ms"] = cpu * 1e3
                result["gpu_over_cpu"] = cpu / seconds
                line += String(format: " %13.1f %15.1f", cpu * 1e3, cpu / seconds)
            }
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(line)
            }
        }
    }
}

import DNCDistribution
import DNCLayers
import DNCModels
import DNCNumerics
import DNCTraining
import Foundation

/// Data-parallel scaling of the dnc-paper training step: per rank, the compute of its share of
/// the global batch (forward, loss, backward) and the allreduce of the flat gradient buffer,
/// timed separately. On a machine with about one core of throughput the ranks are time-sliced,
/// so compute per rank is reported rather than a speed-up it cannot show.
enum ScalingBench {
    static let rankCounts = [1, 2, 4]

    /// Runs inside every rank (`mpirun -n k dnc-bench --only scaling-rank`); rank 0 returns the result.
    static func measureRank(repeats: Int) throws -> [String: Any]? {
        let communicator = try Launcher.communicator()
        let configuration = DNCBenchConfiguration.all.first { $0.name == "dnc-paper" }!
        var c = DNCConfiguration(inputSize: 6, hiddenSize: configuration.hiddenSize)
        c.controllerDepth = configuration.controllerDepth
        c.cellCount = configuration.cells
        c.cellWidth = configuration.width
        c.readHeads = configuration.readHeads
        c.batchFirst = false
        let model = DNC<Float>(c, seed: 1)
        let task = try CopyTask(inputSize: 6, seed: 1, objective: .allElements)
        let share = communicator.share(ofGlobalBatch: configuration.batch)
        let batch = task.batch(step: 0, firstSample: share.lowerBound, count: share.count, lengths: .fixed(configuration.copyLength))
        let store = model.store
        var compute: [Double] = [], reduce: [Double] = []
        for iteration in 0...repeats {
            communicator.barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            store.zeroGradients()
            let logits = model.forward(batch.inputs, training: true).output
            let evaluation = task.evaluate(logits: logits, batch: batch, globalBatchSize: configuration.batch)
            _ = model.backward(outputGradient: evaluation.gradient)
            let finished = DispatchTime.now().uptimeNanoseconds
            // Wait for the slowest rank so that the allreduce is timed alone.
            communicator.barrier()
            let computed = DispatchTime.now().uptimeNanoseconds
            communicator.sumInPlace(store.gradients, count: store.count)
            let reduced = DispatchTime.now().uptimeNanoseconds
            if iteration > 0 {  // the first is a warm-up
                compute.append(Double(finished - start) * 1e-9)
                reduce.append(Double(reduced - computed) * 1e-9)
            }
        }
        // The slowest rank decides a step.
        var slowest = [Timing.median(compute.sorted()), Timing.median(reduce.sorted())]
        slowest = communicator.extremes(slowest).maximum
        defer { (communicator as? MPICommunicator)?.finalize() }
        guard communicator.rank == 0 else { return nil }
        return ["name": "scaling", "config": "dnc-paper", "ranks": communicator.size, "global_batch": configuration.batch,
                "samples_per_rank_max": share.count, "compute_ms": slowest[0] * 1e3, "allreduce_ms": slowest[1] * 1e3,
                "bytes_reduced_per_step": store.count * MemoryLayout<Float>.size, "parameters": store.count,
                "repeats": repeats]
    }

    /// Launches `mpirun -n k` children for each rank count; nil when mpirun is not installed.
    static func run(executable: String, repeats: Int) throws -> [[String: Any]]? {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else { return nil }
        return try rankCounts.map { ranks in
            var environment = ProcessInfo.processInfo.environment
            environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
            environment["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
            let result = try runForJSONResult(executable: mpirun, arguments: ["-n", "\(ranks)", executable, "--only", "scaling-rank",
                                                                               "--json", "--repeats", "\(repeats)"],
                                              environment: environment)
            guard result.status == 0, let object = result.object else {
                throw BenchError("scaling run on \(ranks) ranks failed (exit status \(result.status))")
            }
            return object
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

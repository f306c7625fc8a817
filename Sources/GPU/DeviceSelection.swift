/// Which device a training process uses, from `-cuda N`, its place on the node and what the
/// driver shows (issue #14). Pure logic: the inputs are gathered by the caller, so every case is
/// unit-tested without a GPU.
///
/// - `-cuda N` keeps pytorch-dnc's meaning: N ≥ 0 asks for GPU N, −1 for the CPU.
/// - One process on the node: GPU N, which must be visible.
/// - Several ranks on a node (mpirun -n 8 on an 8-GPU node): GPU N names no single device any
///   more; each rank takes its node-local rank modulo the visible GPUs, so ranks spread over the
///   GPUs instead of all landing on N. With one visible GPU (Slurm's --gpus-per-task=1 gives each
///   task its own, renumbered 0) every rank uses it.
/// - `CUDA_VISIBLE_DEVICES` is honoured: the driver shows only the listed devices, renumbered
///   from 0; empty, "-1" or "NoDevFiles" (what Slurm sets for a task without GPUs) hides them all.
/// - A GPU asked for but not usable gives `.cpuInstead` with the reason: the caller warns and
///   trains on the CPU (so seed command lines run everywhere), or refuses under --require-gpu.
public enum DeviceSelection {
    /// The driver as selection sees it.
    public enum Driver: Equatable, Sendable {
        case unusable(reason: String)
        case usable(deviceCount: Int)
    }

    public enum Decision: Equatable, Sendable {
        /// -cuda −1: the CPU was asked for.
        case cpu
        /// Train on this device (the driver's ordinal, after CUDA_VISIBLE_DEVICES).
        case gpu(device: Int)
        /// A GPU was asked for and the process trains on the CPU instead, for `reason`.
        /// `device` is the GPU it would have used, when one was found.
        case cpuInstead(reason: String, device: Int?)
    }

    public static func decide(requested: Int, localRank: Int, localSize: Int, driver: Driver, visibleDevices: String?) -> Decision {
        guard requested >= 0 else { return .cpu }
        if let visibleDevices {
            let trimmed = visibleDevices.trimmingWhitespace
            if trimmed.isEmpty || trimmed == "-1" || trimmed == "NoDevFiles" {
                return .cpuInstead(reason: "CUDA_VISIBLE_DEVICES='\(visibleDevices)' hides every GPU", device: nil)
            }
        }
        let count: Int
        switch driver {
        case .unusable(let reason): return .cpuInstead(reason: reason, device: nil)
        case .usable(let deviceCount): count = deviceCount
        }
        guard count > 0 else { return .cpuInstead(reason: "no GPU: the driver shows no device\(visibleSuffix(visibleDevices))", device: nil) }
        let device: Int
        if localSize > 1 && count > 1 {
            device = localRank % count
        } else if localSize > 1 {
            device = 0
        } else {
            guard requested < count else {
                let plural = count == 1 ? "1 GPU is" : "\(count) GPUs are"
                return .cpuInstead(reason: "GPU \(requested) does not exist: \(plural) visible (0…\(count - 1))\(visibleSuffix(visibleDevices))", device: nil)
            }
            device = requested
        }
        return .gpu(device: device)
    }

    private static func visibleSuffix(_ visibleDevices: String?) -> String {
        visibleDevices.map { " with CUDA_VISIBLE_DEVICES='\($0)'" } ?? ""
    }

    /// The warning a process prints when it runs on the CPU instead: one line, naming the rank
    /// under MPI (ranks on different nodes may decide differently).
    public static func warning(requested: Int, reason: String, rank: Int, size: Int, localRank: Int, localSize: Int) -> String {
        let who = size > 1 ? "rank \(rank) (node-local rank \(localRank) of \(localSize)): " : ""
        return "warning: \(who)-cuda \(requested): \(reason); running on the CPU"
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

import CBLAS
import Foundation

/// Chooses OpenBLAS's kernels and thread count for the process.
///
/// OpenBLAS picks its kernels once, when the shared library loads, from `OPENBLAS_CORETYPE` or
/// from the CPU model it recognises. Version 0.3.21 does not recognise recent Xeons and falls back
/// to SSE3 "Prescott" kernels, 4–5× slower than the AVX-512 ones the CPU can run. The library is
/// already loaded when `main` starts, so the executables call `relaunchWithBestKernelsIfNeeded`
/// first thing: when the kernels in use are not the best the CPU supports, it sets
/// `OPENBLAS_CORETYPE` and re-executes the same program (same PID, arguments and environment,
/// so it is safe under mpirun and srun).
///
/// Overrides, in order: `DNC_BLAS_CORE=<name>` (a core name, or `auto`, or `default` to keep
/// what OpenBLAS picks itself); else an `OPENBLAS_CORETYPE` the user set; else automatic.
/// Threads: `OPENBLAS_NUM_THREADS` if set, else 1 (one BLAS thread per MPI rank).
public enum BLASRuntime {
    /// Kernel families this code knows how to choose, best first, with the CPU flags
    /// (as /proc/cpuinfo spells them) each needs.
    public static let knownCores: [(name: String, requiredFlags: [String])] = [
        ("SkylakeX", ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]),
        ("Haswell", ["avx2", "fma"]),
        ("Sandybridge", ["avx"]),
        ("Nehalem", ["sse4_2"]),
        ("Prescott", ["pni"]),  // Linux spells SSE3 "pni"
    ]

    /// OpenBLAS's x86-64 kernel families by the widest vector unit they use: 3 AVX-512, 2 AVX2,
    /// 1 AVX, 0 SSE only. A core OpenBLAS picked itself is kept when it is in the best tier the
    /// CPU supports (0.3.21 picks Cooperlake on AMD's AVX-512 EPYCs, as good as SkylakeX).
    public static let tiers: [String: Int] = [
        "skylakex": 3, "cooperlake": 3, "sapphirerapids": 3,
        "haswell": 2, "zen": 2, "excavator": 2,
        "sandybridge": 1, "bulldozer": 1, "piledriver": 1, "steamroller": 1,
        "prescott": 0, "core2": 0, "penryn": 0, "dunnington": 0, "nehalem": 0, "atom": 0,
        "barcelona": 0, "opteron": 0, "opteron_sse3": 0, "katmai": 0, "coppermine": 0, "northwood": 0, "banias": 0, "bobcat": 0,
    ]

    /// Name of the kernels OpenBLAS is using now.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build description (version and options).
    public static var configuration: String { String(cString: openblas_get_config()) }

    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// CPU feature flags of the first processor in /proc/cpuinfo (empty where unavailable).
    public static func cpuFlags(cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) -> Set<String> {
        guard let text = cpuinfo,
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// The best kernel family the CPU supports, or nil when nothing is known to be better than
    /// OpenBLAS's own choice (other architectures, unknown CPUs).
    public static func bestCore(flags: Set<String>) -> String? {
        #if arch(x86_64)
        return knownCores.first { $0.requiredFlags.allSatisfy(flags.contains) }?.name
        #else
        return nil
        #endif
    }

    /// Why a requested core cannot run here, or nil when it can (or is not one we know).
    public static func unsupportedReason(core: String, flags: Set<String>) -> String? {
        guard let known = knownCores.first(where: { $0.name.lowercased() == core.lowercased() }) else { return nil }
        let missing = known.requiredFlags.filter { !flags.contains($0) }
        return missing.isEmpty ? nil : "\(known.name) kernels need CPU features \(missing.joined(separator: ", ")), which this CPU lacks"
    }

    /// The decision for this process, given its environment.
    public enum Decision: Equatable, Sendable {
        /// Keep the kernels in use.
        case keep(reason: String)
        /// Re-execute with `OPENBLAS_CORETYPE` set to this core.
        case relaunch(core: String, reason: String)
        /// The user asked for something impossible.
        case invalid(message: String)
    }

    public static func decide(environment: [String: String], flags: Set<String>, currentCore: String) -> Decision {
        if environment["DNC_BLAS_RELAUNCHED"] != nil {
            return .keep(reason: environment["DNC_BLAS_REASON"] ?? "set by dnc (OPENBLAS_CORETYPE=\(environment["OPENBLAS_CORETYPE"] ?? "?"))")
        }
        var requested = environment["DNC_BLAS_CORE"].map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if requested.isEmpty, let user = environment["OPENBLAS_CORETYPE"], !user.isEmpty {
            return .keep(reason: "OPENBLAS_CORETYPE=\(user) set by the user")
        }
        if requested.lowercased() == "default" {
            return .keep(reason: "DNC_BLAS_CORE=default: OpenBLAS's own choice")
        }
        // Whether the user left the choice to dnc, decided once from the trimmed value (a padded
        // " auto " is still automatic) before `requested` becomes the core to use.
        let automatic = requested.isEmpty || requested.lowercased() == "auto"
        if automatic {
            guard let best = bestCore(flags: flags) else {
                return .keep(reason: "OpenBLAS's own choice (no better kernels known for this CPU)")
            }
            requested = best
        } else {
            if !requested.allSatisfy({ $0.isLetter || $0.isNumber }) {
                return .invalid(message: "DNC_BLAS_CORE=\(requested) is not a core name (letters and digits, e.g. SkylakeX, Haswell, auto, default)")
            }
            if let reason = unsupportedReason(core: requested, flags: flags) {
                return .invalid(message: "DNC_BLAS_CORE=\(requested): \(reason)")
            }
        }
        if requested.lowercased() == currentCore.lowercased() {
            return .keep(reason: "best kernels for this CPU, chosen by OpenBLAS")
        }
        if automatic, let current = tiers[currentCore.lowercased()], let wanted = tiers[requested.lowercased()], current >= wanted {
            return .keep(reason: "kernels of the best class for this CPU, chosen by OpenBLAS")
        }
        return .relaunch(core: requested, reason: automatic ? "automatic: OpenBLAS picked \(currentCore)"
                                                            : "DNC_BLAS_CORE=\(requested); OpenBLAS picked \(currentCore)")
    }

    /// Call first thing in `main`. Either returns (kernels settled, one BLAS thread unless the
    /// user set `OPENBLAS_NUM_THREADS`) or replaces the process image and never returns.
    /// An impossible `DNC_BLAS_CORE` ends the process with a one-line error.
    public static func relaunchWithBestKernelsIfNeeded() {
        let environment = ProcessInfo.processInfo.environment
        let decision = decide(environment: environment, flags: cpuFlags(), currentCore: coreName)
        // OpenBLAS starts its thread pool when it loads; with OPENBLAS_NUM_THREADS unset that is
        // one thread per core, idle threads that poll and take time from the other MPI ranks on
        // the node. So an unset thread count is a reason to re-execute too.
        let threadsUnset = environment["OPENBLAS_NUM_THREADS"] == nil && environment["DNC_BLAS_RELAUNCHED"] == nil
        switch decision {
        case .invalid(let message):
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            exit(2)
        case .keep(let reason) where threadsUnset:
            relaunch(coreType: nil, reason: reason)
        case .keep:
            break
        case .relaunch(let core, let reason):
            relaunch(coreType: core, reason: "\(reason); set by dnc (OPENBLAS_CORETYPE=\(core))")
        }
        if environment["OPENBLAS_NUM_THREADS"] == nil { openblas_set_num_threads(1) }
        decisionReason = describe(decision, environment: environment)
    }

    /// Re-executes this program with the BLAS settings in its environment; returns only if exec fails.
    private static func relaunch(coreType: String?, reason: String) {
        if let coreType { setenv("OPENBLAS_CORETYPE", coreType, 1) }
        if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil { setenv("OPENBLAS_NUM_THREADS", "1", 1) }
        setenv("DNC_BLAS_RELAUNCHED", "1", 1)
        setenv("DNC_BLAS_REASON", reason, 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        // The resolved path, so that the process keeps its name (exec of /proc/self/exe names it "exe").
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "/proc/self/exe"
        execv(path, arguments)
        // exec failed (no /proc): carry on with the kernels we have.
        unsetenv("DNC_BLAS_RELAUNCHED")
    }

    nonisolated(unsafe) private static var decisionReason: String?

    private static func describe(_ decision: Decision, environment: [String: String]) -> String {
        switch decision {
        case .keep(let reason): return reason
        case .relaunch(_, let reason): return reason
        case .invalid(let message): return message
        }
    }

    /// One line for `--version` and diagnostics.
    public static var summary: String {
        let reason = decisionReason ?? "not managed by this process"
        return "OpenBLAS kernels \(coreName) (\(reason)), \(threadCount) thread(s); \(configuration)"
    }
}

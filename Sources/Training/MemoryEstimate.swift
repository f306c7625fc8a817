import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The memory a configuration needs, estimated from its sizes before anything is allocated, so
/// that a size that cannot fit is refused in one line (exit code 2) instead of aborting with a
/// backtrace halfway through an allocation or growing until the kernel kills the process.
///
/// The estimate counts the big terms of one process: parameters with their gradients and the
/// optimiser's buffers, the training step's tapes (per sample and time step: the controller's
/// activations, the memory and read/write weights, the dense memory's N×N link snapshots) and
/// the state carried through a sequence, and the evaluation's batches at the longest length.
/// It is a lower bound of sorts (small terms are left out): configurations it refuses cannot
/// run; the limit defaults to the machine's physical memory and `--memory-limit` changes it.
public struct MemoryEstimate: Sendable, CustomStringConvertible {
    public var parameters = 0.0
    public var optimiser = 0.0
    public var training = 0.0
    public var evaluation = 0.0

    /// Bytes: the larger of training and evaluation (they do not overlap) plus what both keep.
    public var total: Double { parameters + optimiser + Swift.max(training, evaluation) }

    /// The limit in bytes set by `--memory-limit`; nil: physical memory.
    nonisolated(unsafe) public static var limitOverride: Double?

    /// The machine's physical memory in bytes (MemTotal of /proc/meminfo, else sysconf).
    public static var physicalMemory: Double {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kib = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kib * 1024
        }
        return Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    public static var limit: Double { limitOverride ?? physicalMemory }

    static let float = 4.0

    /// The estimate for training `c` with `processes` ranks (each holds a share of the batch).
    public static func of(_ c: TrainingConfiguration, processes: Int = 1) -> MemoryEstimate {
        let batch = (Double(c.batch_size) / Double(Swift.max(processes, 1))).rounded(.up)
        var estimate = MemoryEstimate()
        let p = parameterCount(c)
        estimate.parameters = 2 * p * float  // values and gradients
        let buffers: Double = c.optim == .adam || c.optim == .adamax ? 2 : 1
        estimate.optimiser = buffers * p * float
        // With truncated BPTT only a chunk is recorded; the episode's inputs, logits and
        // gradients (about three widths per step) are kept whole.
        let steps = sequenceSteps(length: Double(c.sequence_max_length))
        let recorded = c.tbptt > 0 ? Swift.min(steps, Double(c.tbptt)) : steps
        estimate.training = batch * recorded * perStep(c, training: true) * float
            + batch * carried(c) * float * 3
            + (c.tbptt > 0 ? batch * steps * 3 * Double(c.input_size) * float : 0)
        let evalLength = Double(c.eval_lengths.max() ?? 10 * c.sequence_max_length)
        estimate.evaluation = evaluationBytes(c, length: evalLength, batch: batch, cells: Double(c.mem_slot))
        return estimate
    }

    /// The evaluation of `c`'s model at `length`, `batch` sequences per process, `cells` memory cells.
    public static func evaluationBytes(_ c: TrainingConfiguration, length: Double, batch: Double, cells: Double) -> Double {
        var e = c
        e.mem_slot = Int(Swift.min(cells, Double(Int.max / 2)))
        return batch * sequenceSteps(length: length) * perStep(e, training: false) * float + batch * carried(e) * float * 2
    }

    /// Time steps of a sequence of `length` items: the input, a marker, the recall.
    static func sequenceSteps(length: Double) -> Double { 2 * length + 2 }

    /// Reals kept per sample and time step.
    static func perStep(_ c: TrainingConfiguration, training: Bool) -> Double {
        let x = Double(c.input_size) + 2
        let h = Double(c.nhid), layers = Double(c.nhlayer)
        let n = Double(c.mem_slot), w = Double(c.mem_size), r = Double(c.read_heads)
        // Inputs, targets, logits and their gradient: kept for the whole sequence either way.
        var reals = 4 * x
        guard training else { return reals }
        reals += 10 * h * layers + 2 * r * w
        switch c.memory_type {
        case .controllerOnly: break
        case .dnc:
            let interval: Double = c.mem_slot >= 32 ? 4 : 1
            reals += n * w + n * (4 * r + 12) + n * n / interval
            // DNC-MD's link sharpness keeps the raw forward and backward weightings too.
            if c.link_sharpness { reals += 2 * r * n }
        default:  // sparse memories touch a few rows per step
            let k = Double(c.sparse_reads + c.temporal_reads + 2)
            reals += k * (r + 1) * (w + 4)
        }
        return reals * Double(Swift.max(c.nlayer, 1))
    }

    /// Reals of the state carried through a sequence per sample (memory, link, weights).
    static func carried(_ c: TrainingConfiguration) -> Double {
        let h = Double(c.nhid), layers = Double(c.nhlayer)
        let n = Double(c.mem_slot), w = Double(c.mem_size), r = Double(c.read_heads)
        var reals = 4 * h * layers + r * w
        switch c.memory_type {
        case .controllerOnly: break
        case .dnc: reals += n * w + n * n + n * (r + 4)
        default:
            // The memory, its index's unit vectors, about six 8-byte integers of bookkeeping per
            // cell (index slots and lists, LRU links, access times) and the SDNC's sparse links.
            let links = c.memory_type == .sdnc ? 6 * Double(c.temporal_reads) : 0
            reals += 2 * n * w + n * (r + 12 + links)
        }
        return reals * Double(Swift.max(c.nlayer, 1))
    }

    /// Parameters of the controller, the memory interface and the output layer.
    public static func parameterCount(_ c: TrainingConfiguration) -> Double {
        let x = Double(c.input_size) + 2
        let h = Double(c.nhid), layers = Double(Swift.max(c.nhlayer, 1))
        let w = Double(c.mem_size), r = Double(c.read_heads)
        let gates: Double = c.rnn_type == .lstm ? 4 : (c.rnn_type == .gru ? 3 : 1)
        guard c.memory_type != .controllerOnly else {
            return gates * h * (x + h + 2) + (layers - 1) * gates * h * (2 * h + 2) + (h + 1) * x
        }
        let reads = r * w
        let controller = gates * h * (x + reads + h + 2) + (layers - 1) * gates * h * (2 * h + 2)
        // DNC-MD's masks ((R + 1)·W) and sharpness (2R) widen the dense interface.
        let improvements = (c.masked_lookup ? (r + 1) * w : 0) + (c.link_sharpness ? 2 * r : 0)
        let interface = h * (reads + 3 * w + 5 * r + 3 + Double(c.temporal_reads) * r + improvements)
        return Double(Swift.max(c.nlayer, 1)) * (controller + interface) + (h + reads + 1) * x
    }

    public var description: String {
        "\(Self.format(total)) (parameters and optimiser \(Self.format(parameters + optimiser)), "
            + "training step \(Self.format(training)), evaluation \(Self.format(evaluation)))"
    }

    static func format(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "more than can be counted" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = bytes, unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        if value >= 1024 { return String(format: "%.3g %@", value, units[unit]) }
        return String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    static func limitText() -> String {
        "the limit \(format(limit)) (" + (limitOverride != nil ? "--memory-limit" : "this machine's physical memory")
            + "; --memory-limit GiB changes it)"
    }

    /// Throws `ConfigurationError` (one line: the estimate and the limit) when training `c`
    /// cannot fit.
    public static func check(_ c: TrainingConfiguration, processes: Int = 1) throws {
        let estimate = of(c, processes: processes)
        guard estimate.total <= limit else {
            throw ConfigurationError("this configuration needs about \(estimate) per process, more than \(limitText())")
        }
    }

    /// Throws when evaluating `c`'s model at `lengths` with `batchSize` sequences and `cells`
    /// memory cells cannot fit.
    public static func checkEvaluation(_ c: TrainingConfiguration, lengths: [Int], batchSize: Int, cells: Int) throws {
        let p = parameterCount(c) * float
        let bytes = p + evaluationBytes(c, length: Double(lengths.max() ?? 0), batch: Double(batchSize), cells: Double(cells))
        guard bytes <= limit else {
            throw ConfigurationError("evaluating at length \(lengths.max() ?? 0) needs about \(format(bytes)), more than \(limitText())")
        }
    }
}

import DNCLayers
import DNCMemories
import DNCModels
import DNCNumerics
import DNCTraining
import Foundation

/// SAM and SDNC training steps (forward, BCE, backward, Adam) at 1 k to 1 M cells with both
/// indexes: the issue's configuration (LSTM 100, W 32, one read head, K 4, batch 4, copy length
/// 10 = 21 steps; the SDNC with K_L 4) and the paper's single-sample setting at 1 M cells.
/// Opt-in (`--only sam`, `--only sdnc`): the exact index at 1 M cells scans a 128 MB memory per read.
///
/// `--only sam-full` (issue: SAM at scale): the same training steps with every cell of the memory
/// written and indexed before timing (Gaussian rows, as a long episode leaves it), for SAM and the
/// SDNC at N = 10 k, 100 k, 1 M, batch 1 and 4, both indexes; the state is carried from step to
/// step so the memory stays full, and the time spent in the index is reported beside the step's.
struct SparseBenchConfiguration: Sendable {
    /// "sam" or "sdnc".
    let model: String
    let cells: Int
    let approximate: Bool
    let batch: Int
    /// Every cell written and indexed before the timed steps.
    var full = false

    var name: String { "\(model)-\(full ? "full-" : "")\(cells)-\(approximate ? "approximate" : "exact")-b\(batch)" }

    static let models = ["sam", "sdnc"]
    static let fullTableName = "sam-full"

    /// SAM then the SDNC, full memories, N = 10 k … 1 M, batch 1 and 4, exact and approximate.
    static var fullTable: [SparseBenchConfiguration] {
        models.flatMap { model in
            [10_000, 100_000, 1_000_000].flatMap { n in
                [1, 4].flatMap { b in
                    [false, true].map { SparseBenchConfiguration(model: model, cells: n, approximate: $0, batch: b, full: true) }
                }
            }
        }
    }

    static func table(_ model: String) -> [SparseBenchConfiguration] {
        [1_000, 10_000, 100_000, 1_000_000].flatMap { n in
            [false, true].map { SparseBenchConfiguration(model: model, cells: n, approximate: $0, batch: 4) }
        } + [SparseBenchConfiguration(model: model, cells: 1_000_000, approximate: true, batch: 1)]
    }

    static var all: [SparseBenchConfiguration] { models.flatMap(table) + fullTable }

    static func named(_ name: String) -> SparseBenchConfiguration? { all.first { $0.name == name } }

    /// Sorted seconds per training step, and the seconds of those steps spent in the index (0
    /// unless `full`: the lazily reset memory of the other rows holds only a sequence's writes).
    /// `residentMiB`: the process's resident size right after the timed steps, while the model
    /// and its full memories are alive (nil unless `full`).
    func measure(repeats: Int) throws -> (steps: [Double], index: IndexClock?, residentMiB: Double?) {
        let c = modelConfiguration()
        guard full else { return (try timeTrainingSteps(c, batch: batch, copyLength: 10, repeats: repeats), nil, nil) }
        let model = DNC<Float>(c, seed: 1)
        let state = model.freshState(batch: batch)
        let clock = IndexClock()
        let random = CounterRandom(seed: 5)
        var rows = [Float](repeating: 0, count: cells * c.cellWidth)
        for memory in state.memories {
            guard let sparse = memory as? SparseMemoryState<Float> else { continue }
            for (b, sample) in sparse.samples.enumerated() {
                for i in rows.indices { rows[i] = Float(random.normal(stream: UInt64(b), index: UInt64(i))) }
                rows.withUnsafeBufferPointer { sample.preload(rows: $0.baseAddress!, count: cells) }
                sample.timeIndex(with: clock)
            }
        }
        rows = []  // the bench's own copy, not the memory's
        let times = try timeTrainingSteps(c, model: model, batch: batch, copyLength: 10, repeats: repeats, carrying: state) { clock.reset() }
        let resident = residentMiB()
        withExtendedLifetime((model, state)) {}
        return (times, clock, resident)
    }

    func modelConfiguration() -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 6, hiddenSize: 100)
        c.controllerDepth = 1
        c.cellCount = cells
        c.cellWidth = 32
        c.readHeads = 1
        c.batchFirst = true
        let index: SparseIndexKind = approximate ? .approximate(ApproximateIndexOptions()) : .exact
        c.memoryKind = model == "sam" ? .sparse(reads: 4, index: index) : .sparseTemporal(reads: 4, temporalReads: 4, index: index)
        return c
    }
}

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
struct SparseBenchConfiguration: Sendable {
    /// "sam" or "sdnc".
    let model: String
    let cells: Int
    let approximate: Bool
    let batch: Int

    var name: String { "\(model)-\(cells)-\(approximate ? "approximate" : "exact")-b\(batch)" }

    static let models = ["sam", "sdnc"]

    static func table(_ model: String) -> [SparseBenchConfiguration] {
        [1_000, 10_000, 100_000, 1_000_000].flatMap { n in
            [false, true].map { SparseBenchConfiguration(model: model, cells: n, approximate: $0, batch: 4) }
        } + [SparseBenchConfiguration(model: model, cells: 1_000_000, approximate: true, batch: 1)]
    }

    static var all: [SparseBenchConfiguration] { models.flatMap(table) }

    static func named(_ name: String) -> SparseBenchConfiguration? { all.first { $0.name == name } }

    func measure(repeats: Int) throws -> [Double] {
        var c = DNCConfiguration(inputSize: 6, hiddenSize: 100)
        c.controllerDepth = 1
        c.cellCount = cells
        c.cellWidth = 32
        c.readHeads = 1
        c.batchFirst = true
        let index: SparseIndexKind = approximate ? .approximate(ApproximateIndexOptions()) : .exact
        c.memoryKind = model == "sam" ? .sparse(reads: 4, index: index) : .sparseTemporal(reads: 4, temporalReads: 4, index: index)
        return try timeTrainingSteps(c, batch: batch, copyLength: 10, repeats: repeats)
    }
}

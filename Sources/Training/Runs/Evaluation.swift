import Foundation
import DNCNumerics
import DNCStorage

/// Generalisation: the task at fixed lengths, far beyond training, in evaluation mode (no
/// dropout, nothing recorded for a backward, so memory does not grow with the length beyond the
/// model state and the sequence itself). Data come from steps no training run uses.
public enum Evaluation {
    /// Step indices of evaluation batches start here: training would need a billion steps to collide.
    public static let firstStep = 1_000_000_000

    public struct Result: Sendable {
        public let length: Int
        public let loss: Double
        public let metrics: [String: Double]
        public let sequences: Int
        public let seconds: Double
    }

    /// `batches` batches of `batchSize` (the global batch, split over the communicator) per length.
    public static func run(model: any SequenceModel, task: any SequenceTask, lengths: [Int], batches: Int, batchSize: Int,
                           communicator: Communicator = SingleProcess()) -> [Result] {
        let share = communicator.share(ofGlobalBatch: batchSize)
        return lengths.enumerated().map { (index, length) in
            let started = Date()
            var loss = 0.0
            var metrics: [String: MetricSum] = [:]
            for b in 0..<batches {
                let batch = task.batch(step: firstStep + index * batches + b, firstSample: share.lowerBound, count: share.count,
                                       lengths: .fixed(length))
                let logits = model.infer(batch.inputs, lengths: batch.lengths)
                let evaluation = task.evaluate(logits: logits, batch: batch, globalBatchSize: batchSize)
                var reduced = MetricVector(loss: evaluation.loss, metrics: evaluation.metrics)
                reduced.sum(over: communicator)
                loss += reduced.loss
                metrics.accumulate(reduced.metrics)
            }
            return Result(length: length, loss: loss / Double(batches), metrics: metrics.mapValues(\.mean),
                          sequences: batches * batchSize, seconds: Date().timeIntervalSince(started))
        }
    }

    /// A fixed-width table, one row per length.
    public static func table(_ results: [Result], primary: String) -> String {
        let keys = Array(Set(results.flatMap(\.metrics.keys))).sorted { a, b in a == primary ? true : (b == primary ? false : a < b) }
        var lines = [(["length", "loss"] + keys + ["seconds"]).map { $0.padding(toLength: max(10, $0.count), withPad: " ", startingAt: 0) }.joined(separator: " ")]
        for r in results {
            var cells = [String(r.length), String(format: "%.5f", r.loss)]
            cells += keys.map { String(format: "%.5f", r.metrics[$0] ?? .nan) }
            cells.append(String(format: "%.2f", r.seconds))
            let header = ["length", "loss"] + keys + ["seconds"]
            lines.append(zip(cells, header).map { $0.padding(toLength: max(10, $1.count), withPad: " ", startingAt: 0) }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }

    /// Writes `<prefix>.csv` and `<prefix>.h5` (datasets `length`, `loss`, one per metric).
    public static func write(_ results: [Result], to prefix: URL, attributes: [String: String]) throws {
        let keys = Array(Set(results.flatMap(\.metrics.keys))).sorted()
        var csv = (["length", "loss"] + keys + ["sequences", "seconds"]).joined(separator: ",") + "\n"
        for r in results {
            csv += ([String(r.length), String(r.loss)] + keys.map { String(r.metrics[$0] ?? .nan) }
                    + [String(r.sequences), String(r.seconds)]).joined(separator: ",") + "\n"
        }
        try csv.write(to: prefix.appendingPathExtension("csv"), atomically: true, encoding: .utf8)

        let file = try HDF5File(path: prefix.appendingPathExtension("h5").path, mode: .create)
        defer { try? file.close() }
        try file.write(ints: results.map { Int64($0.length) }, shape: [results.count], to: "length")
        try file.write(Tensor<Double>(shape: [results.count], storage: results.map(\.loss)), to: "loss")
        for key in keys {
            try file.write(Tensor<Double>(shape: [results.count], storage: results.map { $0.metrics[key] ?? .nan }), to: "metrics/\(key)")
        }
        try file.write(ints: results.map { Int64($0.sequences) }, shape: [results.count], to: "sequences")
        for (key, value) in attributes { try file.writeAttribute(key, value) }
    }

    /// The default generalisation lengths for a training maximum: 1×, 2×, 5×, 10×.
    public static func defaultLengths(maxLength: Int) -> [Int] {
        Array(Set([1, 2, 5, 10].map { $0 * maxLength })).sorted()
    }
}

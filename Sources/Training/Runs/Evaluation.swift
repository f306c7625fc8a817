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

        public init(length: Int, loss: Double, metrics: [String: Double], sequences: Int, seconds: Double) {
            self.length = length
            self.loss = loss
            self.metrics = metrics
            self.sequences = sequences
            self.seconds = seconds
        }
    }

    /// `batches` batches of `batchSize` (the global batch, split over the communicator) per length.
    public static func run(model: any SequenceModel, task: any SequenceTask, lengths: [Int], batches: Int, batchSize: Int,
                           communicator: Communicator = SingleProcess()) -> [Result] {
        // Without a stop check nothing throws.
        (try? run(model: model, task: task, lengths: lengths, batches: batches, batchSize: batchSize, communicator: communicator,
                  stopSignal: nil)) ?? []
    }

    /// `run`, polling `stopSignal` before every batch (a stop signal seen by any process counts
    /// for all): a requested stop throws `EvaluationStopped` within one batch, not after every length.
    public static func run(model: any SequenceModel, task: any SequenceTask, lengths: [Int], batches: Int, batchSize: Int,
                           communicator: Communicator = SingleProcess(), stopSignal: (() -> Int32?)?) throws -> [Result] {
        let share = communicator.share(ofGlobalBatch: batchSize)
        var results: [Result] = []
        for (index, length) in lengths.enumerated() {
            let started = Date()
            var loss = 0.0
            var metrics: [String: MetricSum] = [:]
            for b in 0..<batches {
                if let stopSignal {
                    var stop = [Double(stopSignal() ?? 0)]
                    if communicator.size > 1 { stop.withUnsafeMutableBufferPointer { communicator.sumInPlace($0.baseAddress!, count: 1) } }
                    if stop[0] != 0 { throw EvaluationStopped(signal: stopSignal() ?? SIGTERM) }
                }
                let batch = task.batch(step: firstStep + index * batches + b, firstSample: share.lowerBound, count: share.count,
                                       lengths: .fixed(length))
                let logits = model.infer(batch.inputs, lengths: batch.lengths)
                let evaluation = task.evaluate(logits: logits, batch: batch, globalBatchSize: batchSize)
                var reduced = MetricVector(loss: evaluation.loss, metrics: evaluation.metrics)
                reduced.sum(over: communicator)
                loss += reduced.loss
                metrics.accumulate(reduced.metrics)
            }
            results.append(Result(length: length, loss: loss / Double(batches), metrics: metrics.mapValues(\.mean),
                                  sequences: batches * batchSize, seconds: Date().timeIntervalSince(started)))
        }
        return results
    }

    /// A fixed-width table, one row per length.
    public static func table(_ results: [Result], primary: String) -> String {
        let keys = Array(Set(results.flatMap(\.metrics.keys))).sorted { a, b in a == primary ? true : (b == primary ? false : a < b) }
        let header = ["length", "loss"] + keys + ["seconds"]
        let rows = results.map { r in
            [String(r.length), String(format: "%.5f", r.loss)] + keys.map { String(format: "%.5f", r.metrics[$0] ?? .nan) }
                + [String(format: "%.2f", r.seconds)]
        }
        // Each column as wide as its widest cell (a large loss or a long length must not shift
        // the columns after it), at least 10.
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max().map { max($0, 10) } ?? 10 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// Writes `<prefix>.csv` and `<prefix>.h5` (datasets `length`, `loss`, one per metric;
    /// `length` is the dimension every other dataset is attached to, so xarray and netCDF
    /// readers index them by length). `attributes` become root attributes of their own types.
    public static func write(_ results: [Result], to prefix: URL, attributes: [String: CheckpointValue]) throws {
        let keys = Array(Set(results.flatMap(\.metrics.keys))).sorted()
        var csv = (["length", "loss"] + keys + ["sequences", "seconds"]).joined(separator: ",") + "\n"
        for r in results {
            csv += ([String(r.length), String(r.loss)] + keys.map { String(r.metrics[$0] ?? .nan) }
                    + [String(r.sequences), String(r.seconds)]).joined(separator: ",") + "\n"
        }
        do {
            try csv.write(to: prefix.appendingPathExtension("csv"), atomically: true, encoding: .utf8)
        } catch {
            throw TrainingFailure("cannot write '\(prefix.appendingPathExtension("csv").path)': \(error.localizedDescription)")
        }

        // Written under a temporary name and renamed into place (see `writeAtomically`).
        try HDF5File.writeAtomically(to: prefix.appendingPathExtension("h5").path) { file in
            try file.write(ints: results.map { Int64($0.length) }, shape: [results.count], to: "length")
            try file.write(Tensor<Double>(shape: [results.count], storage: results.map(\.loss)), to: "loss")
            for key in keys {
                try file.write(Tensor<Double>(shape: [results.count], storage: results.map { $0.metrics[key] ?? .nan }), to: "metrics/\(key)")
            }
            try file.write(ints: results.map { Int64($0.sequences) }, shape: [results.count], to: "sequences")
            for object in ["loss", "sequences"] + keys.map({ "metrics/\($0)" }) {
                try file.nameDimensions(of: object, ["length"], in: "/")
            }
            for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .string(let text): try file.writeAttribute(key, text)
                case .int(let number): try file.writeAttribute(key, number)
                case .double(let number): try file.writeAttribute(key, number)
                case .bool(let flag): try file.writeAttribute(key, flag)
                }
            }
        }
    }

    /// The default generalisation lengths for a training maximum: 1×, 2×, 5×, 10×.
    public static func defaultLengths(maxLength: Int) -> [Int] {
        Array(Set([1, 2, 5, 10].map { $0 * maxLength })).sorted()
    }
}

/// A stop signal arrived during an evaluation; nothing was written.
public struct EvaluationStopped: Error, CustomStringConvertible {
    public let signal: Int32
    public var description: String { "evaluation stopped by \(StopSignals.name(signal))" }
}

import DNCNumerics
import DNCStorage
import Foundation

/// One generalisation file (`eval.h5` written at the end of training, or `eval-<step>.h5` from
/// `dnc-dist eval`): a value of each metric at each sequence length. (bAbI's files hold the error
/// per task instead: `BabiEvaluationResults`; `EvaluationFile` reads either.)
public struct EvaluationResults: Sendable {
    /// The file name in the run directory.
    public let name: String
    public let lengths: [Double]
    /// "loss" and every `metrics/<name>`, each with one value per length.
    public let metrics: [String: [Double]]

    public init(name: String, lengths: [Double], metrics: [String: [Double]]) {
        self.name = name
        self.lengths = lengths
        self.metrics = metrics
    }

    /// Reads the file; throws `ReportProblem`-worthy errors (missing datasets, wrong shapes).
    public init(contentsOf url: URL) throws {
        self = try EvaluationFile.withOpenFile(url) { try EvaluationResults(file: $0, name: url.lastPathComponent) }
    }

    /// Reads an open file named `name`.
    init(file: HDF5File, name: String) throws {
        let lengths: [Double]
        if isIntegerElement(try file.elementType(of: "length")) {
            lengths = try file.readInts("length").values.map(Double.init)
        } else {
            lengths = try file.readTensorConverting("length", as: Double.self).storage
        }
        var metrics: [String: [Double]] = [:]
        func add(_ key: String, _ path: String) throws {
            let values = try file.readTensorConverting(path, as: Double.self).storage
            guard values.count == lengths.count else {
                throw EvaluationFileError("'\(path)' has \(values.count) values for \(lengths.count) lengths")
            }
            metrics[key] = values
        }
        if try file.exists("loss") { try add("loss", "loss") }
        if try file.exists("metrics") && file.isGroup("metrics") {
            for child in try file.children(of: "metrics") where try file.isDataset("metrics/\(child)") {
                try add(child, "metrics/\(child)")
            }
        }
        self.init(name: name, lengths: lengths, metrics: metrics)
    }

    /// The `eval*.h5` files of a run directory, `eval.h5` first.
    public static func files(in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("eval") && $0.hasSuffix(".h5") }
            .sorted { ($0 == "eval.h5" ? 0 : 1, $0) < ($1 == "eval.h5" ? 0 : 1, $1) }
            .map { directory.appendingPathComponent($0) }
    }
}

/// What an `eval*.h5` of a run directory holds: a curve over sequence lengths (the algorithmic
/// tasks) or the error per bAbI task (`dnc-dist train babi`).
public enum EvaluationFile: Sendable {
    case lengths(EvaluationResults)
    case babi(BabiEvaluationResults)

    public init(contentsOf url: URL) throws {
        self = try Self.withOpenFile(url) { file in
            try BabiEvaluationResults.isBabi(file) ? .babi(try BabiEvaluationResults(file: file, name: url.lastPathComponent))
                : .lengths(try EvaluationResults(file: file, name: url.lastPathComponent))
        }
    }

    /// Runs `body` on the file opened read-only (on a snapshot while a writer holds it).
    static func withOpenFile<R>(_ url: URL, _ body: (HDF5File) throws -> R) throws -> R {
        let (file, snapshot) = try RunDirectory.openWithSnapshotIfLocked(url) { try HDF5File(path: $0.path, mode: .readOnly) }
        defer {
            try? file.close()
            if let snapshot { try? FileManager.default.removeItem(at: snapshot) }
        }
        return try body(file)
    }
}

struct EvaluationFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Whether a stored type is an integer type (read with `readInts`, then converted).
func isIntegerElement(_ type: HDF5ElementType) -> Bool {
    if case .integer = type { return true }
    return false
}

import Foundation

/// The training summaries of `metrics.jsonl` (one JSON object per line), as numeric columns
/// against the step. Lines that do not parse (a line cut short by a killed run) are skipped
/// and reported.
public struct MetricsHistory: Sendable {
    /// One record per parsed line: every numeric field (strings and nested values are left out).
    public let records: [[String: Double]]
    public let problems: [ReportProblem]

    public init(records: [[String: Double]], problems: [ReportProblem] = []) {
        self.records = records
        self.problems = problems
    }

    /// Reads `url`; a missing file gives no records and a problem.
    public init(contentsOf url: URL) {
        let name = url.lastPathComponent
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let exists = FileManager.default.fileExists(atPath: url.path)
            self.init(records: [], problems: [ReportProblem(file: name, exists ? "cannot be read" : "missing: no training curves")])
            return
        }
        self.init(parsing: data, fileName: name)
    }

    public init(parsing data: Data, fileName: String = "metrics.jsonl") {
        var records: [[String: Double]] = []
        var problems: [ReportProblem] = []
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            guard !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                let last = index == lines.count - 1 || (index == lines.count - 2 && lines.last?.isEmpty == true)
                problems.append(ReportProblem(file: fileName, "line \(index + 1) is not a JSON object\(last ? " (cut short: the run was killed while writing it?)" : ""); skipped"))
                continue
            }
            var record: [String: Double] = [:]
            for (key, value) in object {
                if let number = value as? NSNumber { record[key] = number.doubleValue }
            }
            if record["step"] == nil {
                problems.append(ReportProblem(file: fileName, "line \(index + 1) has no numeric 'step'; skipped"))
                continue
            }
            records.append(record)
        }
        if records.isEmpty && problems.isEmpty { problems.append(ReportProblem(file: fileName, "empty: no summary written yet")) }
        self.records = records
        self.problems = problems
    }

    /// Every numeric key in the records, sorted.
    public var keys: [String] { Array(Set(records.flatMap(\.keys))).sorted() }

    /// (step, value) for every record that has `key`, in file order.
    public func series(_ key: String) -> [(x: Double, y: Double)] {
        records.compactMap { record in record[key].flatMap { value in record["step"].map { ($0, value) } } }
    }

    /// The last step summarised.
    public var lastStep: Int? { records.compactMap { $0["step"] }.max().map { Int($0) } }
}

import DNCNumerics
import DNCStorage
import Foundation

/// One bAbI evaluation file (`eval.h5` at the end of a `dnc-dist train babi` run, `eval-<step>.h5`
/// of its validations, or `dnc-dist eval`'s): the error per bAbI task (docs/tasks.md, bAbI), not a
/// curve over sequence lengths. Datasets `task`, `questions`, `wrong` (int64) and `error` (a
/// fraction), one value per task; attributes `mean_error`, `failed_tasks` and `split`.
public struct BabiEvaluationResults: Sendable {
    /// The file name in the run directory.
    public let name: String
    public let tasks: [Int]
    public let questions: [Int]
    public let wrong: [Int]
    /// wrong / questions per task, as a fraction.
    public let errors: [Double]
    /// Over all the questions of the file's tasks (the file's `mean_error`).
    public let meanError: Double
    /// Tasks with an error above 5 %.
    public let failedTasks: Int
    /// "test" or "validation" (empty if the file does not say).
    public let split: String

    /// Whether the open file is a bAbI evaluation (a `task` dataset, no `length`).
    static func isBabi(_ file: HDF5File) throws -> Bool {
        try file.exists("task") && !(try file.exists("length"))
    }

    /// Reads an open bAbI evaluation file named `name`.
    init(file: HDF5File, name: String) throws {
        self.name = name
        tasks = try file.readInts("task").values.map { Int($0) }
        questions = try file.readInts("questions").values.map { Int($0) }
        wrong = try file.readInts("wrong").values.map { Int($0) }
        errors = try file.readTensorConverting("error", as: Double.self).storage
        for (dataset, count) in [("questions", questions.count), ("wrong", wrong.count), ("error", errors.count)]
        where count != tasks.count {
            throw EvaluationFileError("'\(dataset)' has \(count) values for \(tasks.count) tasks")
        }
        let names = Set(try file.attributeNames())
        func text(_ key: String) throws -> String? { names.contains(key) ? try file.readAttribute(key, as: String.self) : nil }
        let total = questions.reduce(0, +)
        meanError = try text("mean_error").flatMap(Double.init) ?? (total == 0 ? 0 : Double(wrong.reduce(0, +)) / Double(total))
        failedTasks = try text("failed_tasks").flatMap { Int($0) } ?? errors.filter { $0 > 0.05 }.count
        split = try text("split") ?? ""
    }
}

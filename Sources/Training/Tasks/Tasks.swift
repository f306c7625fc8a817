/// Builds a task from its command-line name, so the trainer needs no per-task code.
public enum Tasks {
    /// The task names `make` accepts.
    public static let names = ["copy", "adding", "argmax", "repeat-copy", "associative-recall"]

    /// Settings beyond the input size; each applies to the task named in its comment.
    public struct Options: Hashable, Sendable {
        /// copy: which elements the BCE averages over.
        public var copyObjective: CopyTask.Objective = .allElements
        /// argmax: which steps are regressed to the index.
        public var argmaxObjective: ArgmaxTask.Objective = .allSteps
        /// repeat-copy: pattern lengths (the floor of every draw, and `defaultLengths`), repeats,
        /// the repeat-count normaliser and the cost's options.
        public var minLength = 1
        public var maxLength = 2
        public var minRepeats = 1
        public var maxRepeats = 2
        public var normMax = 10.0
        public var timeAverage = false
        public var logProbInBits = false
        /// associative-recall: vectors per item and the item counts of `defaultLengths`.
        public var itemLength = 3
        public var minItems = 2
        public var maxItems = 6
        public init() {}
    }

    /// The task `name` ("copy", "adding", "argmax", "repeat-copy", "associative-recall"; "_" may
    /// stand for "-"). `inputSize` is X, the model's input width; nil takes the task's default
    /// (6 for copy, adding, argmax and repeat-copy, whose 4 bits are DeepMind's; 8 for
    /// associative recall, NTM's 6 bits). For repeat-copy and associative recall the bits per
    /// vector are X − 2. Throws a one-line `TaskError` naming the bad value.
    public static func make(name: String, inputSize: Int?, seed: UInt64, options: Options = Options()) throws -> any SequenceTask {
        switch name.replacingUnderscores() {
        case "copy":
            return try CopyTask(inputSize: inputSize ?? 6, seed: seed, objective: options.copyObjective)
        case "adding":
            return try AddingTask(inputSize: inputSize ?? 6, seed: seed)
        case "argmax":
            return try ArgmaxTask(inputSize: inputSize ?? 6, seed: seed, objective: options.argmaxObjective)
        case "repeat-copy":
            let x = inputSize ?? 6
            guard x >= 3 else { throw TaskError("repeat-copy input size must be at least 3 (num_bits + 2), got \(x)") }
            return try RepeatCopyTask(numBits: x - 2, minLength: options.minLength, maxLength: options.maxLength,
                                      minRepeats: options.minRepeats, maxRepeats: options.maxRepeats, normMax: options.normMax,
                                      timeAverage: options.timeAverage, logProbInBits: options.logProbInBits, seed: seed)
        case "associative-recall":
            let x = inputSize ?? 8
            guard x >= 3 else { throw TaskError("associative-recall input size must be at least 3 (bits + 2), got \(x)") }
            return try AssociativeRecallTask(bits: x - 2, itemLength: options.itemLength, minItems: options.minItems,
                                             maxItems: options.maxItems, seed: seed)
        default:
            throw TaskError("unknown task '\(name)' (expected one of \(names.joined(separator: ", ")))")
        }
    }
}

private extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}

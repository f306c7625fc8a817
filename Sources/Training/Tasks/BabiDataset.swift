import Foundation

/// One story with its questions encoded as one sequence of word indices (docs/tasks.md, bAbI):
/// statements and questions word by word with their `.` and `?`, each answer word replaced by the
/// marker `-`; the model must output the answer word at each marker step.
public struct BabiSample: Hashable, Sendable {
    public var task: Int
    /// Word indices, one per time step.
    public var tokens: [Int]
    /// (time step, answer word index, question number within the story) of each answer word.
    public var answers: [BabiAnswer]

    public var length: Int { tokens.count }
}

public struct BabiAnswer: Hashable, Sendable {
    public var step: Int
    public var word: Int
    public var question: Int
}

/// The files of one bAbI set in a data directory and the samples they encode to.
///
/// Layout (as released, v1.2): `<data>/<set>/qaN_<name>_<train|test>.txt` for N = 1…20, `set` being
/// `en` (1k) or `en-10k`. A 10k set lacking a task's training file falls back to the 1k set's
/// (`<data>/en/…`), and `substitutions` says so: results including that task must say it.
public struct BabiDataset: Sendable {
    public enum Split: String, Sendable, CaseIterable { case train, validation, test }

    public let vocabulary: BabiVocabulary
    public let train: [BabiSample]
    public let validation: [BabiSample]
    public let test: [BabiSample]
    /// One line per file taken from another set than the one asked for.
    public let substitutions: [String]

    public func samples(_ split: Split) -> [BabiSample] {
        switch split {
        case .train: train
        case .validation: validation
        case .test: test
        }
    }

    /// The file of task `task` and `split` ("train" or "test") in `directory`, if any.
    static func file(task: Int, split: String, in directory: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().first { $0.hasPrefix("qa\(task)_") && $0.hasSuffix("_\(split).txt") }
            .map { directory.appendingPathComponent($0) }
    }

    /// The stories of every task's train and test files (all 20 tasks, whatever `tasks` says: the
    /// vocabulary spans them all). Throws a one-line error for a missing or malformed file.
    static func readStories(data: String, set: String) throws -> (train: [Int: [BabiStory]], test: [Int: [BabiStory]], substitutions: [String]) {
        let root = URL(fileURLWithPath: data)
        let directory = root.appendingPathComponent(set)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw BabiFormatError("--data '\(data)': no folder '\(set)' in it (expected the bAbI v1.2 layout <data>/en/ and <data>/en-10k/)")
        }
        var train: [Int: [BabiStory]] = [:], test: [Int: [BabiStory]] = [:]
        var substitutions: [String] = []
        for task in 1...20 {
            for split in ["train", "test"] {
                var url = file(task: task, split: split, in: directory)
                if url == nil, set != "en", let fallback = file(task: task, split: split, in: root.appendingPathComponent("en")) {
                    url = fallback
                    substitutions.append("task \(task) \(split): \(set) has no file; the 1k set's \(fallback.lastPathComponent) was used")
                }
                guard let url else {
                    throw BabiFormatError("--data '\(data)': no qa\(task)_*_\(split).txt in '\(directory.path)'")
                }
                guard let data = FileManager.default.contents(atPath: url.path) else {
                    throw BabiFormatError("bAbI file '\(url.path)' cannot be read")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw BabiFormatError("bAbI file '\(url.path)' is not UTF-8 text")
                }
                let stories = try BabiParser.parse(text, file: url.path, task: task)
                if stories.isEmpty { throw BabiFormatError("bAbI file '\(url.path)' holds no story") }
                if split == "train" { train[task] = stories } else { test[task] = stories }
            }
        }
        return (train, test, substitutions)
    }

    /// Loads `set` from `data` for `tasks`, holding out the last `validationFraction` of each
    /// task's training stories (rounded down, at least one when the fraction is > 0). With a
    /// stored `vocabulary` (a resumed run or an evaluation) the files must use no other word.
    public init(data: String, set: String, tasks: [Int], validationFraction: Double, vocabulary stored: [String]? = nil) throws {
        let (trainStories, testStories, substitutions) = try Self.readStories(data: data, set: set)
        let all = (1...20).flatMap { trainStories[$0]! + testStories[$0]! }
        let vocabulary: BabiVocabulary
        if let stored, !stored.isEmpty {
            vocabulary = BabiVocabulary(words: stored)
            let found = BabiVocabulary(stories: all)
            if let unknown = found.words.first(where: { vocabulary.index(of: $0) == nil }) {
                throw BabiFormatError("--data '\(data)': the word '\(unknown)' is not in the run's stored vocabulary of \(vocabulary.count) words (different data?)")
            }
        } else {
            vocabulary = BabiVocabulary(stories: all)
        }
        var train: [BabiSample] = [], validation: [BabiSample] = [], test: [BabiSample] = []
        for task in tasks {
            let stories = trainStories[task]!
            let heldOut = validationFraction > 0 ? Swift.max(1, Int(Double(stories.count) * validationFraction)) : 0
            train += stories.dropLast(heldOut).map { Self.encode($0, vocabulary) }
            validation += stories.suffix(heldOut).map { Self.encode($0, vocabulary) }
            test += testStories[task]!.map { Self.encode($0, vocabulary) }
        }
        self.init(vocabulary: vocabulary, train: train, validation: validation, test: test,
                  substitutions: substitutions.filter { line in tasks.contains { line.hasPrefix("task \($0) ") } })
    }

    public init(vocabulary: BabiVocabulary, train: [BabiSample], validation: [BabiSample], test: [BabiSample], substitutions: [String] = []) {
        self.vocabulary = vocabulary
        self.train = train
        self.validation = validation
        self.test = test
        self.substitutions = substitutions
    }

    /// A story as one sequence: every token in order, each answer word replaced by the marker.
    public static func encode(_ story: BabiStory, _ vocabulary: BabiVocabulary) -> BabiSample {
        var tokens: [Int] = [], answers: [BabiAnswer] = []
        var question = 0
        for line in story.lines {
            switch line {
            case .statement(let words):
                tokens += words.map { vocabulary.index(of: $0)! }
            case .question(let words, let answerWords, _):
                tokens += words.map { vocabulary.index(of: $0)! }
                for answer in answerWords {
                    answers.append(BabiAnswer(step: tokens.count, word: vocabulary.index(of: answer)!, question: question))
                    tokens.append(vocabulary.answerMarkerIndex)
                }
                question += 1
            }
        }
        return BabiSample(task: story.task, tokens: tokens, answers: answers)
    }
}

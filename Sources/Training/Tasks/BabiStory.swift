import Foundation

/// One line of a bAbI story (docs/tasks.md, bAbI): a statement, or a question with its answer
/// words and the line numbers of its supporting facts.
public enum BabiLine: Hashable, Sendable {
    case statement(words: [String])
    case question(words: [String], answers: [String], supportingFacts: [Int])
}

/// A story of one bAbI file: its lines from line number 1 up to the next line numbered 1.
public struct BabiStory: Hashable, Sendable {
    /// The task number (1…20) of the file it came from.
    public var task: Int
    public var lines: [BabiLine]

    public init(task: Int, lines: [BabiLine]) {
        self.task = task
        self.lines = lines
    }

    /// The number of questions in the story.
    public var questionCount: Int {
        lines.reduce(0) { count, line in if case .question = line { return count + 1 } else { return count } }
    }
}

/// A bAbI file that does not follow the format: one line naming the file, the line and the fault.
public struct BabiFormatError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(file: String, line: Int, _ problem: String) {
        description = "bAbI file '\(file)', line \(line): \(problem)"
    }
    public init(_ description: String) { self.description = description }
}

/// Reads the bAbI v1.2 text format (Weston et al. 2015): `N text` per line, N restarting at 1 with
/// each story; a question line is `N question<TAB>answer[,answer…]<TAB>fact fact…`. Words are
/// lower-cased and the sentence marks `.` and `?` become tokens of their own (docs/tasks.md, bAbI).
public enum BabiParser {
    /// The stories of `text`, read from `file` (named in errors) for task `task`.
    public static func parse(_ text: String, file: String, task: Int) throws(BabiFormatError) -> [BabiStory] {
        var stories: [BabiStory] = []
        var current: [BabiLine] = []
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy(\.isWhitespace) { continue }
            guard let space = line.firstIndex(of: " "), let number = Int(line[..<space]), number >= 1 else {
                throw BabiFormatError(file: file, line: lineNumber, "expected 'N text' with a line number N ≥ 1, got '\(line.prefix(40))'")
            }
            if number == 1 {
                if !current.isEmpty { stories.append(BabiStory(task: task, lines: current)) }
                current = []
            } else if number != current.count + 1 {
                throw BabiFormatError(file: file, line: lineNumber,
                                      "story line number \(number) follows \(current.count) (numbers restart at 1 or go up by one)")
            }
            let fields = line[line.index(after: space)...].split(separator: "\t", omittingEmptySubsequences: false)
            switch fields.count {
            case 1:
                let words = tokens(fields[0])
                if words.isEmpty { throw BabiFormatError(file: file, line: lineNumber, "statement \(number) has no words") }
                current.append(.statement(words: words))
            case 3:
                let words = tokens(fields[0])
                let answers = fields[1].split(separator: ",", omittingEmptySubsequences: false)
                    .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if words.isEmpty { throw BabiFormatError(file: file, line: lineNumber, "question \(number) has no words") }
                if answers.contains(where: { $0.isEmpty || $0.contains(" ") }) {
                    throw BabiFormatError(file: file, line: lineNumber,
                                          "answer '\(fields[1])' must be one word or comma-separated words")
                }
                var facts: [Int] = []
                for part in fields[2].split(whereSeparator: \.isWhitespace) {
                    guard let fact = Int(part), fact >= 1, fact < number else {
                        throw BabiFormatError(file: file, line: lineNumber,
                                              "supporting fact '\(part)' is not a line number between 1 and \(number - 1)")
                    }
                    facts.append(fact)
                }
                current.append(.question(words: words, answers: answers, supportingFacts: facts))
            default:
                throw BabiFormatError(file: file, line: lineNumber,
                                      "\(fields.count - 1) tabs: a statement has none, a question line has two (question, answer, facts)")
            }
        }
        if !current.isEmpty { stories.append(BabiStory(task: task, lines: current)) }
        return stories
    }

    /// Lower-cased words with `.` and `?` split off as tokens of their own.
    static func tokens(_ text: Substring) -> [String] {
        var result: [String] = []
        for word in text.lowercased().split(whereSeparator: \.isWhitespace) {
            var body = Substring(word)
            var marks: [String] = []
            while let last = body.last, last == "." || last == "?" {
                marks.insert(String(last), at: 0)
                body = body.dropLast()
            }
            if !body.isEmpty { result.append(String(body)) }
            result += marks
        }
        return result
    }
}

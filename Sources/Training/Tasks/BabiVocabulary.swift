/// The words of a bAbI run: one vocabulary over every file of all 20 tasks, in sorted order, so
/// that the same files always give the same indices (docs/tasks.md, bAbI). It is stored in the
/// run's configuration (`babi_vocabulary`), so evaluation and resumed runs index words as
/// training did.
public struct BabiVocabulary: Hashable, Sendable {
    /// The token that stands in the input for each answer word (the DNC paper, Methods, bAbI).
    public static let answerMarker = "-"

    public let words: [String]
    private let indices: [String: Int]

    /// `words` deduplicated and sorted, the answer marker always included.
    public init<S: Sequence>(words: S) where S.Element == String {
        self.words = Set(words).union([Self.answerMarker]).sorted()
        indices = Dictionary(uniqueKeysWithValues: self.words.enumerated().map { ($1, $0) })
    }

    /// Every token and answer word of `stories`.
    public init(stories: [BabiStory]) {
        var words: Set<String> = []
        for story in stories {
            for line in story.lines {
                switch line {
                case .statement(let tokens): words.formUnion(tokens)
                case .question(let tokens, let answers, _): words.formUnion(tokens); words.formUnion(answers)
                }
            }
        }
        self.init(words: words)
    }

    public var count: Int { words.count }

    public func index(of word: String) -> Int? { indices[word] }

    public var answerMarkerIndex: Int { indices[Self.answerMarker]! }
}

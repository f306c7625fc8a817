/// Something a report could not show, listed at the top of the page: a missing file, a file
/// that could not be read, a truncated line, a dataset that failed to load.
public struct ReportProblem: Equatable, Sendable, CustomStringConvertible {
    /// The file (name within the run directory) the problem is about.
    public let file: String
    public let message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

import Foundation

/// Which dumped training steps get heatmaps.
public enum StepSelection: Equatable, Sendable, CustomStringConvertible {
    /// At most n steps spread evenly over the dumped ones, first and last included.
    case spread(Int)
    case all
    /// Exactly these steps (those not dumped are reported).
    case list([Int])

    /// "all", "spread:N", or comma-separated steps such as "100,200".
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "all" { self = .all; return }
        if trimmed.hasPrefix("spread:"), let n = Int(trimmed.dropFirst(7)), n >= 1 { self = .spread(n); return }
        let parts = trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let steps = parts.compactMap { Int($0) }
        guard !parts.isEmpty, steps.count == parts.count, steps.allSatisfy({ $0 >= 0 }) else {
            throw ReportError("--steps wants 'all', 'spread:N' or comma-separated step numbers, got '\(text)'")
        }
        self = .list(steps)
    }

    /// The selected steps among `available` (ascending), and requested steps that are absent.
    public func select(from available: [Int]) -> (selected: [Int], absent: [Int]) {
        switch self {
        case .all: return (available, [])
        case .spread(let n):
            return (DebugFigures.selectTimes(available.count, count: max(n, 1)).map { available[$0] }, [])
        case .list(let steps):
            let set = Set(available)
            return (Array(Set(steps.filter(set.contains))).sorted(), steps.filter { !set.contains($0) })
        }
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .spread(let n): return "spread:\(n)"
        case .list(let steps): return steps.map(String.init).joined(separator: ",")
        }
    }
}

/// What a report includes and how it is laid out.
public struct ReportOptions: Sendable {
    /// Steps of each debug file that get heatmaps.
    public var steps: StepSelection = .spread(3)
    public var debug = DebugFigureOptions()
    /// When set, the page reloads itself after this many seconds (live mode).
    public var refreshSeconds: Int?
    /// A line shown under the title (live mode's "regenerated every …").
    public var banner: String?
    /// The page follows a run in progress without reloading itself (`dnc-dist serve` pushes the
    /// changes): a missing eval.h5 is expected, not a problem.
    public var followsRun = false

    public init(steps: StepSelection = .spread(3), refreshSeconds: Int? = nil, banner: String? = nil) {
        self.steps = steps
        self.refreshSeconds = refreshSeconds
        self.banner = banner
    }
}

/// A report that cannot be made at all (no run directory); everything else is a
/// `ReportProblem` listed in the report.
public struct ReportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}


import DNCReports
import Foundation

/// What the live page shows at one moment: the report of the run directory (rendered by
/// `RunReport`, the same figures as `dnc-dist report`), split into the page's skeleton and its
/// figures, so that a change can be sent as the figures that changed.
public struct LiveSnapshot: Sendable, Equatable {
    /// One figure: its `<figure>` element as the page holds it, and its standalone SVG file.
    public struct Figure: Sendable, Equatable {
        public let id: String
        public let kind: String
        public let key: String
        public let html: String
        public let svg: String
    }

    /// The report's body with every figure replaced by an empty placeholder `<figure>` of the
    /// same element id: the text around the figures (notes, problems, step lists, header).
    public let skeleton: String
    /// The report's body as `dnc-dist report` writes it.
    public let body: String
    /// The figures, in page order.
    public let figures: [Figure]
    /// The summaries of `metrics.jsonl`, in file order.
    public let metrics: [[String: Double]]
    public let lastStep: Int?
    public let finished: Bool
    public let problems: [String]
    /// A file was caught mid-write (a dump being appended to, a summary line cut short): the
    /// watcher tries again on the next tick before showing this.
    public let unsettled: Bool

    public init(report: RunReport) {
        var figures: [Figure] = []
        var skeleton = ""
        let body = report.body
        var cursor = body.startIndex
        for figure in report.figures {
            let html = figure.html()
            // The page holds each figure's element verbatim, in order (RunReport's builder).
            guard let found = body.range(of: html, options: .literal, range: cursor..<body.endIndex) else { continue }
            skeleton += body[cursor..<found.lowerBound]
            skeleton += Self.placeholder(id: figure.id)
            cursor = found.upperBound
            figures.append(Figure(id: figure.id, kind: figure.kind.rawValue, key: figure.key, html: html,
                                  svg: figure.drawing.document))
        }
        skeleton += body[cursor...]
        self.skeleton = skeleton
        self.body = body
        self.figures = figures
        metrics = report.metrics.records
        lastStep = report.lastStep
        finished = report.finished
        problems = report.problems.map(\.description)
        unsettled = report.problems.contains { $0.message.contains("cut short") || $0.message.contains("cannot be read") }
    }

    /// Reads and renders the run directory now.
    public static func read(_ runDirectory: URL, options: ReportOptions) throws -> LiveSnapshot {
        var live = options
        live.followsRun = true
        live.refreshSeconds = nil
        return LiveSnapshot(report: try RunReport(runDirectory: runDirectory, options: live))
    }

    /// The empty stand-in for a figure in the skeleton (the page keeps the figure it has).
    static func placeholder(id: String) -> String {
        "<figure id=\"fig-\(HTMLPage.escape(id))\" data-placeholder=\"\"></figure>"
    }

    public func figure(_ id: String) -> Figure? { figures.first { $0.id == id } }
}

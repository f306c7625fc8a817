import Foundation

/// One server-sent event of `dnc-dist serve`'s `/events` stream. Every event carries the
/// version of the page it brings the browser to, also sent as the SSE `id`, so that a browser
/// that reconnects (`Last-Event-ID`) gets the whole page again only when it missed something.
///
/// - `layout`: the page's skeleton changed (notes, problems, a figure added or removed); the
///   browser swaps it in and keeps the figures it already has in their placeholders.
/// - `figure`: one figure is new or drawn anew; its `<figure>` element.
/// - `metrics`: summaries appended to `metrics.jsonl` (all of them, with `reset`, when the
///   file was rewritten rather than appended to).
/// - `status`: the last step, the number of summaries, whether the run finished, the problems.
public enum LiveEvent: Sendable, Equatable {
    case layout(version: Int, skeleton: String)
    case figure(version: Int, id: String, kind: String, key: String, html: String)
    case metrics(version: Int, points: [[String: Double]], reset: Bool)
    case status(version: Int, lastStep: Int?, summaries: Int, finished: Bool, problems: [String])

    public var name: String {
        switch self {
        case .layout: return "layout"
        case .figure: return "figure"
        case .metrics: return "metrics"
        case .status: return "status"
        }
    }

    public var version: Int {
        switch self {
        case .layout(let version, _), .figure(let version, _, _, _, _), .metrics(let version, _, _),
             .status(let version, _, _, _, _):
            return version
        }
    }

    /// The events that take a page showing `old` (nil: nothing, a new browser) to `new`.
    /// Nothing when the two show the same.
    public static func changes(from old: LiveSnapshot?, to new: LiveSnapshot, version: Int) -> [LiveEvent] {
        if let old, old.skeleton == new.skeleton, old.figures == new.figures, old.metrics == new.metrics,
           old.finished == new.finished, old.problems == new.problems {
            return []
        }
        var events: [LiveEvent] = []
        if old?.skeleton != new.skeleton { events.append(.layout(version: version, skeleton: new.skeleton)) }
        let before = Dictionary((old?.figures ?? []).map { ($0.id, $0.html) }, uniquingKeysWith: { first, _ in first })
        for figure in new.figures where before[figure.id] != figure.html {
            events.append(.figure(version: version, id: figure.id, kind: figure.kind, key: figure.key, html: figure.html))
        }
        let oldMetrics = old?.metrics ?? []
        if oldMetrics != new.metrics {
            let appended = new.metrics.count >= oldMetrics.count && Array(new.metrics.prefix(oldMetrics.count)) == oldMetrics
            let points = appended ? Array(new.metrics.dropFirst(oldMetrics.count)) : new.metrics
            events.append(.metrics(version: version, points: points, reset: !appended || old == nil))
        }
        events.append(.status(version: version, lastStep: new.lastStep, summaries: new.metrics.count, finished: new.finished,
                              problems: new.problems))
        return events
    }

    /// The event's fields as JSON.
    public var json: String {
        var object: [String: Any] = ["version": version]
        switch self {
        case .layout(_, let skeleton):
            object["skeleton"] = skeleton
        case .figure(_, let id, let kind, let key, let html):
            object["id"] = id
            object["kind"] = kind
            object["key"] = key
            object["html"] = html
        case .metrics(_, let points, let reset):
            // JSON has no NaN or infinity: such a value is sent as null.
            object["points"] = points.map { point in point.mapValues { $0.isFinite ? $0 as Any : NSNull() } }
            object["reset"] = reset
        case .status(_, let lastStep, let summaries, let finished, let problems):
            object["lastStep"] = lastStep.map { $0 as Any } ?? NSNull()
            object["summaries"] = summaries
            object["finished"] = finished
            object["problems"] = problems
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The event on the wire (JSON has no raw line breaks, so `data` is one line).
    public var serverSentEvent: String {
        "id: \(version)\nevent: \(name)\ndata: \(json)\n\n"
    }
}

/// Turns one debug tensor (T, a, b) into a heatmap figure, for any key:
///
/// - a is a singleton or a small head axis ("one", "head", or an unnamed axis of at most
///   `maxSeriesPanels`): one panel per index of a, time along x, b down y — weightings, usage,
///   read modes, gates, read positions over time;
/// - otherwise (memory, link matrix, visible memory…): snapshots, one a × b panel (b along x,
///   a down y) per selected time step.
///
/// Rank-1 and rank-2 datasets are read as (T, 1, 1) and (T, 1, a); trailing axes beyond the
/// third are flattened into b. Anything too large is block-averaged or windowed, and the title
/// notes say so.
public struct DebugFigureOptions: Sendable {
    /// Snapshot panels at most (time steps chosen evenly, first and last included).
    public var maxSnapshots = 16
    /// Larger a × b snapshots are block-averaged down to at most this many rows and columns.
    public var maxSnapshotSide = 128
    /// Longer time axes are block-averaged down to at most this many columns.
    public var maxTime = 400
    /// Taller series panels are block-averaged down to at most this many rows.
    public var maxSeriesRows = 128
    /// Head-like axes up to this size get one time-series panel per index.
    public var maxSeriesPanels = 8
    /// Width budget of a figure in pixels.
    public var maxWidth = 1180

    public init() {}
}

public enum DebugFigures {
    static let seriesAxisNames: Set<String> = ["one", "head", "heads", "gate", "gates"]

    /// The figure of `tensor`, with `context` ("step 100 · layer 0 · rank 0") in the title.
    public static func figure(_ tensor: DebugDump.Tensor, context: String, options: DebugFigureOptions = DebugFigureOptions()) -> HeatmapFigure {
        let entry = tensor.entry
        // Normalise to (T, a, b).
        var shape = entry.shape, axes = entry.axes, notes: [String] = []
        switch shape.count {
        case 0: shape = [1, 1, 1]; axes = ["time", "one", "one"]
        case 1: shape = [shape[0], 1, 1]; axes = [axes[0], "one", "one"]
        case 2: shape = [shape[0], 1, shape[1]]; axes = [axes[0], "one", axes[1]]
        case 3: break
        default:
            notes.append("axes \(axes[2...].joined(separator: ", ")) flattened into one")
            shape = [shape[0], shape[1], shape[2...].reduce(1, *)]
            axes = [axes[0], axes[1], axes[2...].joined(separator: "×")]
        }
        let (t, a, b) = (shape[0], shape[1], shape[2])
        let shapeText = entry.shape.map(String.init).joined(separator: "×")
        let title = "\(entry.key) — \(context)"
        notes.insert("(\(entry.axes.joined(separator: ", "))) = \(shapeText)", at: 0)
        let values = tensor.values
        guard t > 0, a > 0, b > 0, values.count == t * a * b else {
            notes.append("empty dataset: nothing to show")
            let empty = HeatmapFigure.Panel(title: "", matrix: Matrix(rows: 1, columns: 1, values: [.nan]),
                                            x: .init(name: axes[0], count: 1), y: .init(name: axes[2], count: 1),
                                            cellWidth: 24, cellHeight: 24)
            return HeatmapFigure(title: title, notes: notes, panels: [empty], maxWidth: options.maxWidth)
        }
        let series = a == 1 || seriesAxisNames.contains(axes[1]) && a <= options.maxSeriesPanels
            || (axes[1].hasPrefix("axis") && a <= options.maxSeriesPanels)
        var panels: [HeatmapFigure.Panel] = []
        if series {
            // One panel per index of a: rows b, columns time.
            let timeFactor = (t + options.maxTime - 1) / options.maxTime
            let rowFactor = (b + options.maxSeriesRows - 1) / options.maxSeriesRows
            if timeFactor > 1 { notes.append("time \(t) shown at \((t + timeFactor - 1) / timeFactor) (mean of \(timeFactor) steps)") }
            if rowFactor > 1 { notes.append("\(axes[2]) \(b) shown at \((b + rowFactor - 1) / rowFactor) (mean of \(rowFactor))") }
            let columns = (t + timeFactor - 1) / timeFactor, rows = (b + rowFactor - 1) / rowFactor
            let cellWidth = min(max(720 / columns, 1), 28)
            let cellHeight = min(max(200 / rows, 2), 24)
            for i in 0..<a {
                var m = [Float](repeating: 0, count: b * t)
                for time in 0..<t { for j in 0..<b { m[j * t + time] = values[(time * a + i) * b + j] } }
                let matrix = Matrix(rows: b, columns: t, values: m).blockMean(rows: rowFactor, columns: timeFactor)
                panels.append(HeatmapFigure.Panel(
                    title: a == 1 ? "" : "\(axes[1]) \(i)", matrix: matrix,
                    x: .init(name: axes[0], count: t), y: .init(name: axes[2], count: b, names: tensor.lastAxisNames),
                    cellWidth: cellWidth, cellHeight: cellHeight))
            }
        } else {
            // Snapshots of the a × b state at selected time steps.
            let times = selectTimes(t, count: options.maxSnapshots)
            if times.count < t {
                notes.append("\(times.count) of \(t) time steps shown: \(times.map(String.init).joined(separator: ", "))")
            }
            let rowFactor = (a + options.maxSnapshotSide - 1) / options.maxSnapshotSide
            let columnFactor = (b + options.maxSnapshotSide - 1) / options.maxSnapshotSide
            let rows = (a + rowFactor - 1) / rowFactor, columns = (b + columnFactor - 1) / columnFactor
            if rowFactor > 1 || columnFactor > 1 {
                notes.append("\(entry.key) \(a)×\(b) shown at \(rows)×\(columns) (mean of \(rowFactor)×\(columnFactor) blocks)")
            }
            let cell = min(max(176 / max(rows, columns), 1), 16)
            for time in times {
                let slice = Array(values[(time * a * b)..<((time + 1) * a * b)])
                let matrix = Matrix(rows: a, columns: b, values: slice).blockMean(rows: rowFactor, columns: columnFactor)
                panels.append(HeatmapFigure.Panel(
                    title: "\(axes[0]) \(time)", matrix: matrix,
                    x: .init(name: axes[2], count: b, names: tensor.lastAxisNames), y: .init(name: axes[1], count: a),
                    cellWidth: cell, cellHeight: cell))
            }
        }
        let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        if bad > 0 { notes.append("\(bad) non-finite values (NaN or ±inf) shown in magenta") }
        return HeatmapFigure(title: title, notes: notes, panels: panels, scaleLabel: entry.key, maxWidth: options.maxWidth)
    }

    /// `count` time indices spread evenly over 0..<t, first and last included (all when t ≤ count).
    public static func selectTimes(_ t: Int, count: Int) -> [Int] {
        guard t > count, count >= 2 else { return Array(0..<min(t, max(count, 1))) }
        var picked: [Int] = []
        for i in 0..<count {
            let index = Int((Double(i) * Double(t - 1) / Double(count - 1)).rounded())
            if picked.last != index { picked.append(index) }
        }
        return picked
    }
}

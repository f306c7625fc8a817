import Foundation

/// Draws a `LineChart` as SVG: title, notes and legend as text, grid lines at nice ticks with
/// their labels, the series as polylines (with point markers when there are few points), and
/// the x axis label.
public enum LineChartRenderer {
    public struct Rendered: Sendable {
        public let drawing: SVGDrawing
        /// The plot rectangle in SVG units (pixels at 100 % zoom).
        public let plot: (x: Double, y: Double, width: Double, height: Double)
    }

    static let titleSize = 15.0
    static let textSize = 12.0
    static let lineHeight = 18.0
    static let margin = 14.0

    /// The data ranges (padded so lines do not run along the frame) and where the plot sits:
    /// turns values into SVG coordinates.
    struct Frame {
        let logY: Bool
        let xLow: Double, xHigh: Double, yLow: Double, yHigh: Double
        var left = 0.0, top = 0.0, width = 0.0, height = 0.0

        init(points: [(x: Double, y: Double)], logY: Bool) {
            self.logY = logY
            var xLow = points.map(\.x).min() ?? 0, xHigh = points.map(\.x).max() ?? 1
            if xHigh <= xLow { xLow -= 1; xHigh += 1 }
            let xPad = (xHigh - xLow) * 0.025
            self.xLow = xLow - xPad; self.xHigh = xHigh + xPad
            func toY(_ v: Double) -> Double { logY ? log10(v) : v }
            var yLow = points.map { toY($0.y) }.min() ?? 0, yHigh = points.map { toY($0.y) }.max() ?? 1
            if yHigh <= yLow {
                let pad = logY ? 0.1 : (yLow != 0 ? abs(yLow) * 0.1 : 1)
                yLow -= pad; yHigh += pad
            }
            let pad = (yHigh - yLow) * 0.06
            self.yLow = yLow - pad; self.yHigh = yHigh + pad
        }

        func toY(_ v: Double) -> Double { logY ? log10(v) : v }
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * width }
        func py(_ v: Double) -> Double { top + (yHigh - toY(v)) / (yHigh - yLow) * height }
    }

    public static func render(_ chart: LineChart) -> Rendered {
        let logY = chart.usesLogarithmicY
        func drawable(_ point: (x: Double, y: Double)) -> Bool { point.x.isFinite && point.y.isFinite && (!logY || point.y > 0) }
        let points = chart.series.flatMap(\.points).filter(drawable)
        let skipped = chart.series.reduce(0) { $0 + $1.points.count } - points.count
        var frame = Frame(points: points, logY: logY)

        let yTicks = logY ? AxisTicks.logarithmic(pow(10, frame.yLow), pow(10, frame.yHigh)) : AxisTicks.linear(frame.yLow, frame.yHigh, target: 5)
        let yLabels = AxisTicks.labels(yTicks)
        let xTicks = AxisTicks.linear(frame.xLow, frame.xHigh, target: max(2, (chart.width - 120) / 100))
        let xLabels = AxisTicks.labels(xTicks)

        var notes = chart.notes
        if let window = chart.series.first(where: { $0.smoothing > 1 })?.smoothing {
            notes.append("faint: every summary; bold: mean of \(window)")
        }
        if logY { notes.append("logarithmic y axis") }
        if skipped > 0 { notes.append("\(skipped) non-finite\(logY ? " or non-positive" : "") values not drawn") }
        if points.isEmpty { notes.append("no values to draw") }
        let inner = Double(chart.width) - 2 * margin
        let titleLines = TextMetrics.wrap(chart.title, width: inner, size: titleSize)
        let noteLines = notes.flatMap { TextMetrics.wrap($0, width: inner, size: textSize) }
        let legend = chart.series.count > 1 ? legendLines(chart, width: inner) : []
        let headerHeight = Double(titleLines.count + noteLines.count + legend.count) * lineHeight + 6

        frame.left = margin + (yLabels.map { TextMetrics.width($0, size: textSize) }.max() ?? 0) + 10
        frame.top = margin + headerHeight
        frame.width = Double(chart.width) - frame.left - margin - 8
        // Below the plot: tick labels, the x axis label, its descenders and a little air.
        let below = 6 + textSize + lineHeight + 10
        frame.height = max(Double(chart.height) - frame.top - below, 60)
        let height = Int((frame.top + frame.height + below).rounded(.up))
        var svg = SVGDrawing(width: chart.width, height: height, title: chart.title)

        drawHeader(titleLines: titleLines, noteLines: noteLines, legend: legend, on: &svg)
        drawAxes(frame, yTicks: Array(zip(yTicks, yLabels)), xTicks: Array(zip(xTicks, xLabels)), xLabel: chart.xLabel,
                 chartWidth: Double(chart.width), on: &svg)
        drawSeries(chart, frame: frame, drawable: drawable, on: &svg)
        return Rendered(drawing: svg, plot: (frame.left, frame.top, frame.width, frame.height))
    }

    /// Title (bold), notes (muted) and the legend's lines of swatches and names, from the top margin.
    static func drawHeader(titleLines: [String], noteLines: [String], legend: [[(Int, String)]], on svg: inout SVGDrawing) {
        var baseline = margin + titleSize
        for line in titleLines {
            svg.text(line, x: margin, y: baseline, size: titleSize, bold: true, role: "title")
            baseline += lineHeight
        }
        for line in noteLines {
            svg.text(line, x: margin, y: baseline, size: textSize, colour: .muted, role: "note")
            baseline += lineHeight
        }
        for line in legend {
            var x = margin
            for (index, name) in line {
                // The swatch at the height of the name's lower-case letters.
                svg.rect(x: x, y: baseline - textSize * 0.45, width: 18, height: 4, fill: colour(index))
                x += 24
                svg.text(name, x: x, y: baseline, size: textSize, role: "legend")
                x += TextMetrics.width(name, size: textSize) + 18
            }
            baseline += lineHeight
        }
    }

    /// Grid and ticks, labels centred on their tick (vertically by the digits' height), the frame
    /// and the x axis label.
    static func drawAxes(_ frame: Frame, yTicks: [(Double, String)], xTicks: [(Double, String)], xLabel: String, chartWidth: Double,
                         on svg: inout SVGDrawing) {
        let left = frame.left, top = frame.top, plotWidth = frame.width, plotHeight = frame.height
        for (tick, label) in yTicks {
            let ty = frame.py(tick)
            guard ty >= top, ty <= top + plotHeight else { continue }
            svg.line(left, ty, left + plotWidth, ty, colour: .grid)
            svg.text(label, x: left - 6, y: ty + textSize * 0.36, size: textSize, colour: .axis, anchor: .end, role: "tick")
        }
        var lastRight = -Double.infinity
        for (tick, label) in xTicks {
            let tx = frame.px(tick)
            guard tx >= left, tx <= left + plotWidth else { continue }
            svg.line(tx, top, tx, top + plotHeight, colour: .grid)
            svg.line(tx, top + plotHeight, tx, top + plotHeight + 5, colour: .axis)
            // Kept inside the figure and apart from the previous label.
            let half = TextMetrics.width(label, size: textSize) / 2
            let centre = min(tx, chartWidth - margin / 2 - half)
            if centre - half > lastRight + 8 {
                svg.text(label, x: centre, y: top + plotHeight + 6 + textSize, size: textSize, colour: .axis, anchor: .middle,
                         role: "tick")
                lastRight = centre + half
            }
        }
        svg.rect(x: left - 0.5, y: top - 0.5, width: plotWidth + 1, height: plotHeight + 1, stroke: .axis)
        svg.text(xLabel + " →", x: left + plotWidth / 2, y: top + plotHeight + 6 + textSize + lineHeight, size: textSize,
                 colour: .axis, anchor: .middle, role: "axis-label")
    }

    /// The series: polylines through consecutive drawable points (a gap where one is not),
    /// markers when sparse; a smoothed series faint with its running mean bold.
    static func drawSeries(_ chart: LineChart, frame: Frame, drawable: ((x: Double, y: Double)) -> Bool, on svg: inout SVGDrawing) {
        func polylines(_ points: [(x: Double, y: Double)], _ colour: RGB, width: Double, opacity: Double = 1) {
            var run: [(x: Double, y: Double)] = []
            for point in points + [(x: Double.nan, y: Double.nan)] {
                if drawable(point) { run.append((frame.px(point.x), frame.py(point.y))); continue }
                svg.polyline(run, colour: colour, width: width, opacity: opacity)
                run = []
            }
        }
        for (index, series) in chart.series.enumerated() {
            if series.smoothing > 1 {
                polylines(series.points, colour(index), width: 1.5, opacity: 0.3)
                polylines(series.smoothed, colour(index), width: 2.5)
                continue
            }
            polylines(series.points, colour(index), width: 2)
            let shown = series.points.filter(drawable)
            if shown.count <= 40 {
                for point in shown { svg.circle(x: frame.px(point.x), y: frame.py(point.y), radius: 3, fill: colour(index)) }
            }
        }
    }

    static func colour(_ index: Int) -> RGB { LineChart.palette[index % LineChart.palette.count] }

    /// Legend entries (series index, name) broken into lines that fit `width`.
    static func legendLines(_ chart: LineChart, width: Double) -> [[(Int, String)]] {
        var lines: [[(Int, String)]] = [[]]
        var used = 0.0
        for (index, series) in chart.series.enumerated() {
            let w = 24 + TextMetrics.width(series.name, size: textSize) + 18
            if used + w > width && !lines[lines.count - 1].isEmpty { lines.append([]); used = 0 }
            lines[lines.count - 1].append((index, series.name))
            used += w
        }
        return lines
    }
}

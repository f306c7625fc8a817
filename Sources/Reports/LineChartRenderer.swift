import Foundation

/// Draws a `LineChart`: title, legend, grid lines at nice ticks, anti-aliased lines with point
/// markers when there are few points, tick labels and the x axis label.
public enum LineChartRenderer {
    public struct Rendered: Sendable {
        public let image: RGBImage
        /// The plot rectangle in pixels.
        public let plot: (x: Int, y: Int, width: Int, height: Int)
    }

    static let scale = 2
    static let textHeight = BitmapFont.glyphHeight * scale
    static let margin = 16

    static func textWidth(_ text: String) -> Int { BitmapFont.size(text, scale: scale).width }

    public static func render(_ chart: LineChart) -> Rendered {
        let logY = chart.usesLogarithmicY
        let points = chart.series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        let skipped = chart.series.reduce(0) { $0 + $1.points.count } - points.count

        // Ranges, padded so lines do not run along the frame.
        var xLow = points.map(\.x).min() ?? 0, xHigh = points.map(\.x).max() ?? 1
        if xHigh <= xLow { xLow -= 1; xHigh += 1 }
        let xPad = (xHigh - xLow) * 0.025
        xLow -= xPad; xHigh += xPad
        func toY(_ v: Double) -> Double { logY ? log10(v) : v }
        var yLow = points.map { toY($0.y) }.min() ?? 0, yHigh = points.map { toY($0.y) }.max() ?? 1
        if yHigh <= yLow {
            let pad = logY ? 0.1 : (yLow != 0 ? abs(yLow) * 0.1 : 1)
            yLow -= pad; yHigh += pad
        }
        let pad = (yHigh - yLow) * 0.06
        yLow -= pad; yHigh += pad

        let yTicks = logY ? AxisTicks.logarithmic(pow(10, yLow), pow(10, yHigh)) : AxisTicks.linear(yLow, yHigh, target: 5)
        let yLabels = AxisTicks.labels(yTicks)
        let xTicks = AxisTicks.linear(xLow, xHigh, target: max(2, (chart.width - 120) / 100))
        let xLabels = AxisTicks.labels(xTicks)

        var notes = chart.notes
        if let window = chart.series.first(where: { $0.smoothing > 1 })?.smoothing {
            notes.append("faint: every summary; bold: mean of \(window)")
        }
        if logY { notes.append("logarithmic y axis") }
        if skipped > 0 { notes.append("\(skipped) non-finite\(logY ? " or non-positive" : "") values not drawn") }
        if points.isEmpty { notes.append("no values to draw") }
        let inner = chart.width - 2 * margin
        let titleLines = BitmapFont.wrap(chart.title, width: inner, scale: scale)
        let noteLines = notes.flatMap { BitmapFont.wrap($0, width: inner, scale: scale) }
        let legend = chart.series.count > 1 ? legendLines(chart, width: inner) : []
        let headerHeight = (titleLines.count + noteLines.count + legend.count) * (textHeight + 6) + 6

        let left = margin + (yLabels.map(textWidth).max() ?? 0) + 10
        let top = margin + headerHeight
        let plotWidth = chart.width - left - margin - 8
        let plotHeight = chart.height - top - margin - 2 * (textHeight + 6) - 6
        let height = plotHeight < 60 ? chart.height + (60 - plotHeight) : chart.height
        let ph = max(plotHeight, 60)
        var image = RGBImage(width: chart.width, height: height)

        var y = margin
        for line in titleLines { BitmapFont.draw(line, into: &image, x: margin, y: y, scale: scale); y += textHeight + 6 }
        for line in noteLines { BitmapFont.draw(line, into: &image, x: margin, y: y, scale: scale, colour: .muted); y += textHeight + 6 }
        for line in legend {
            var x = margin
            for (index, name) in line {
                let colour = LineChart.palette[index % LineChart.palette.count]
                image.fill(x: x, y: y + textHeight / 2 - 2, width: 18, height: 4, colour)
                x += 24
                x += BitmapFont.draw(name, into: &image, x: x, y: y, scale: scale, colour: .text) + 18
            }
            y += textHeight + 6
        }

        func px(_ x: Double) -> Double { Double(left) + (x - xLow) / (xHigh - xLow) * Double(plotWidth) }
        func py(_ v: Double) -> Double { Double(top) + (yHigh - toY(v)) / (yHigh - yLow) * Double(ph) }

        // Grid and ticks.
        for (tick, label) in zip(yTicks, yLabels) {
            let ty = Int(py(tick).rounded(.down))
            guard ty >= top, ty < top + ph else { continue }
            image.fill(x: left, y: ty, width: plotWidth, height: 1, .grid)
            BitmapFont.draw(label, into: &image, x: left - 8 - textWidth(label), y: ty - textHeight / 2, scale: scale, colour: .axis)
        }
        var lastRight = Int.min
        for (tick, label) in zip(xTicks, xLabels) {
            let tx = Int(px(tick).rounded(.down))
            guard tx >= left, tx <= left + plotWidth else { continue }
            image.fill(x: tx, y: top, width: 1, height: ph, .grid)
            image.fill(x: tx, y: top + ph, width: 1, height: 5, .axis)
            let lx = min(max(tx - textWidth(label) / 2, left - 8), chart.width - margin - textWidth(label))
            if lx > lastRight + 8 {
                BitmapFont.draw(label, into: &image, x: lx, y: top + ph + 8, scale: scale, colour: .axis)
                lastRight = lx + textWidth(label)
            }
        }
        image.stroke(x: left - 1, y: top - 1, width: plotWidth + 2, height: ph + 2, .axis)
        let xLabel = chart.xLabel + " →"
        BitmapFont.draw(xLabel, into: &image, x: left + (plotWidth - textWidth(xLabel)) / 2, y: top + ph + 8 + textHeight + 6,
                        scale: scale, colour: .axis)

        // Series: lines between consecutive drawable points, markers when sparse.
        func polyline(_ points: [(x: Double, y: Double)], _ colour: RGB, thickness: Double) {
            var previous: (x: Double, y: Double)?
            for point in points {
                guard point.x.isFinite, point.y.isFinite, !logY || point.y > 0 else { previous = nil; continue }
                if let p = previous { image.line(px(p.x), py(p.y), px(point.x), py(point.y), colour, thickness: thickness) }
                previous = point
            }
        }
        for (index, series) in chart.series.enumerated() {
            let colour = LineChart.palette[index % LineChart.palette.count]
            if series.smoothing > 1 {
                polyline(series.points, colour.blended(over: .white, alpha: 0.3), thickness: 1.5)
                polyline(series.smoothed, colour, thickness: 2.5)
                continue
            }
            polyline(series.points, colour, thickness: 2)
            let drawable = series.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
            if drawable.count <= 40 {
                for point in drawable { image.disc(px(point.x), py(point.y), radius: 3, colour) }
            }
        }
        return Rendered(image: image, plot: (left, top, plotWidth, ph))
    }

    /// Legend entries (series index, name) broken into lines that fit `width`.
    static func legendLines(_ chart: LineChart, width: Int) -> [[(Int, String)]] {
        var lines: [[(Int, String)]] = [[]]
        var used = 0
        for (index, series) in chart.series.enumerated() {
            let w = 24 + textWidth(series.name) + 18
            if used + w > width && !lines[lines.count - 1].isEmpty { lines.append([]); used = 0 }
            lines[lines.count - 1].append((index, series.name))
            used += w
        }
        return lines
    }
}

/// Draws a `HeatmapFigure` as SVG: the title and notes as text, panels in a grid (each with its
/// title, axis labels with arrows — x to the right, y downwards — and index ticks), and one
/// colour bar with the scale's minimum, middle and maximum. The cells of each panel and the
/// colour bar are pixel data, embedded as PNG images at one image pixel per SVG unit.
public enum HeatmapRenderer {
    /// Where a panel's cells landed in the drawing (for tests and image maps).
    public struct PlotArea: Equatable, Sendable {
        public let x: Int, y: Int, width: Int, height: Int
        public let rows: Int, columns: Int
        public let cellWidth: Int, cellHeight: Int

        /// The point at the centre of cell (row, column).
        public func centre(row: Int, column: Int) -> (x: Int, y: Int) {
            (x + column * cellWidth + cellWidth / 2, y + row * cellHeight + cellHeight / 2)
        }
    }

    public struct Rendered: Sendable {
        public let drawing: SVGDrawing
        public let plots: [PlotArea]
        /// The cells of each panel, one `PlotArea` each, as embedded in the drawing.
        public let cellImages: [RGBImage]
        /// The colour bar's rectangle: top is the maximum, bottom the minimum.
        public let colourBar: PlotArea
        public let colourBarImage: RGBImage
        public let low: Double, high: Double
    }

    static let titleSize = 15.0
    static let textSize = 12.0
    static let lineHeight = 18
    static let margin = 14
    static let gap = 24
    static let tickLength = 4

    static func textWidth(_ text: String) -> Int { Int(TextMetrics.width(text, size: textSize).rounded(.up)) }

    /// Tick positions (pixel offsets along an axis of `pixels` pixels) and labels.
    static func ticks(for axis: HeatmapFigure.Axis, pixels: Int, vertical: Bool) -> [(offset: Int, label: String)] {
        guard axis.count > 0 else { return [] }
        func label(_ i: Int) -> String { axis.names.flatMap { i < $0.count ? $0[i] : nil } ?? String(i) }
        func offset(_ i: Int) -> Int { Int(((Double(i) + 0.5) / Double(axis.count) * Double(pixels)).rounded(.down)) }
        let space: (String) -> Int = vertical ? { _ in Int(textSize) + 4 } : { textWidth($0) + 12 }
        // Named indices: all of them when they fit.
        if let names = axis.names, names.count == axis.count {
            let all = (0..<axis.count).map { (offset($0), names[$0]) }
            if zip(all, all.dropFirst()).allSatisfy({ $1.0 - $0.0 >= space($0.1) / (vertical ? 1 : 2) + space($1.1) / (vertical ? 1 : 2) }) {
                return all
            }
        }
        let widest = space(String(axis.count - 1))
        let target = max(2, pixels / max(widest, 1) + 1)
        var indices = AxisTicks.indices(axis.count, target: min(target, 8))
        if let last = indices.last, last != axis.count - 1 { indices.append(axis.count - 1) }
        var result: [(Int, String)] = []
        for i in indices {
            let candidate = (offset(i), label(i))
            if let previous = result.last,
               candidate.0 - previous.0 < (vertical ? space(candidate.1) : (space(previous.1) + space(candidate.1)) / 2) {
                // Keep the last index visible: it tells the axis length.
                if i == axis.count - 1 && result.count > 1 { result.removeLast() } else { continue }
            }
            result.append(candidate)
        }
        return result
    }

    struct PanelLayout {
        var left = 0, top = 0, plotWidth = 0, plotHeight = 0, width = 0, height = 0
        var xTicks: [(offset: Int, label: String)] = []
        var yTicks: [(offset: Int, label: String)] = []
    }

    static func layout(_ panel: HeatmapFigure.Panel) -> PanelLayout {
        var l = PanelLayout()
        l.plotWidth = panel.matrix.columns * panel.cellWidth
        l.plotHeight = panel.matrix.rows * panel.cellHeight
        l.xTicks = ticks(for: panel.x, pixels: l.plotWidth, vertical: false)
        l.yTicks = ticks(for: panel.y, pixels: l.plotHeight, vertical: true)
        let yTickWidth = l.yTicks.map { textWidth($0.label) }.max() ?? 0
        l.left = yTickWidth + tickLength + 4
        // Title, then the y axis label, with room for the first y tick label to stand above the plot.
        l.top = (panel.title.isEmpty ? 0 : lineHeight) + lineHeight + Int(textSize) / 2
        let xLabel = textWidth(panel.x.name + " →")
        let lastTickOverhang = l.xTicks.last.map { $0.offset + textWidth($0.label) / 2 + 2 } ?? 0
        l.width = l.left + max(l.plotWidth, xLabel, lastTickOverhang, textWidth(panel.title) - l.left,
                               textWidth(panel.y.name + " ↓") - l.left)
        l.height = l.top + l.plotHeight + tickLength + 2 * lineHeight + 4
        return l
    }

    /// The panel's cells at `cellWidth` × `cellHeight` pixels each; magenta where not finite.
    static func cells(_ panel: HeatmapFigure.Panel, table: [RGB], low: Double, high: Double) -> RGBImage {
        let m = panel.matrix
        var image = RGBImage(width: m.columns * panel.cellWidth, height: m.rows * panel.cellHeight)
        for r in 0..<m.rows {
            for c in 0..<m.columns {
                let v = Double(m[r, c])
                let colour: RGB
                if !v.isFinite { colour = .missing } else if high > low {
                    colour = table[min(max(Int(((v - low) / (high - low) * 255).rounded()), 0), 255)]
                } else { colour = table[128] }
                image.fill(x: c * panel.cellWidth, y: r * panel.cellHeight, width: panel.cellWidth, height: panel.cellHeight, colour)
            }
        }
        return image
    }

    public static func render(_ figure: HeatmapFigure) -> Rendered {
        precondition(!figure.panels.isEmpty, "a heatmap figure needs at least one panel")
        let (low, high) = figure.effectiveRange
        let table = figure.colourMap.table(256)
        let layouts = figure.panels.map(layout)
        let cellWidth = layouts.map(\.width).max()!, cellHeight = layouts.map(\.height).max()!

        // Colour bar beside the grid.
        let barLabels = [AxisTicks.label(high, digits: 4), AxisTicks.label((low + high) / 2, digits: 3), AxisTicks.label(low, digits: 4)]
        let barBlock = max(colourBarWidth + 8 + (barLabels.map(textWidth).max() ?? 0), textWidth(figure.scaleLabel))
        let available = figure.maxWidth - 2 * margin - gap - barBlock
        let perRow = max(1, min(figure.panels.count, (available + gap) / (cellWidth + gap)))
        let gridRows = (figure.panels.count + perRow - 1) / perRow
        let gridWidth = perRow * cellWidth + (perRow - 1) * gap
        let gridHeight = gridRows * cellHeight + (gridRows - 1) * gap

        // Title and notes, wrapped to the figure's width.
        let titleWidth = Int(TextMetrics.width(figure.title, size: titleSize).rounded(.up))
        let contentWidth = max(gridWidth + gap + barBlock, min(titleWidth, figure.maxWidth - 2 * margin))
        let titleLines = TextMetrics.wrap(figure.title, width: Double(contentWidth), size: titleSize)
        let noteLines = figure.notes.flatMap { TextMetrics.wrap($0, width: Double(contentWidth), size: textSize) }
        let headerHeight = (titleLines.count + noteLines.count) * lineHeight + 8

        let firstPlotTop = margin + headerHeight + layouts[0].top
        let barHeight = max(min(layouts[0].plotHeight, 260), 120)
        let width = 2 * margin + contentWidth
        let height = max(margin + headerHeight + gridHeight, firstPlotTop + barHeight + Int(textSize) + 8) + margin
        var svg = SVGDrawing(width: width, height: height, title: figure.title)
        drawHeader(titleLines: titleLines, noteLines: noteLines, on: &svg)

        var plots: [PlotArea] = []
        var cellImages: [RGBImage] = []
        let gridTop = margin + headerHeight
        for (index, panel) in figure.panels.enumerated() {
            let originX = margin + (index % perRow) * (cellWidth + gap), top = gridTop + (index / perRow) * (cellHeight + gap)
            let image = cells(panel, table: table, low: low, high: high)
            plots.append(drawPanel(panel, layout: layouts[index], image: image, originX: originX, top: top, on: &svg))
            cellImages.append(image)
        }
        let (barArea, bar) = drawColourBar(x: margin + gridWidth + gap, y: firstPlotTop, height: barHeight, table: table,
                                           labels: barLabels, scaleLabel: figure.scaleLabel, on: &svg)
        return Rendered(drawing: svg, plots: plots, cellImages: cellImages, colourBar: barArea, colourBarImage: bar,
                        low: low, high: high)
    }

    static let colourBarWidth = 18

    /// The title (bold) and the notes, one line each, from the top margin.
    static func drawHeader(titleLines: [String], noteLines: [String], on svg: inout SVGDrawing) {
        var baseline = Double(margin) + titleSize
        for line in titleLines {
            svg.text(line, x: Double(margin), y: baseline, size: titleSize, bold: true, role: "title")
            baseline += Double(lineHeight)
        }
        for line in noteLines {
            svg.text(line, x: Double(margin), y: baseline, size: textSize, colour: .muted, role: "note")
            baseline += Double(lineHeight)
        }
    }

    /// One panel with its top-left corner at (`originX`, `top`): its title, the y axis name, the
    /// cells as an image, the frame, the ticks with their labels and the x axis name.
    static func drawPanel(_ panel: HeatmapFigure.Panel, layout l: PanelLayout, image: RGBImage, originX: Int, top: Int,
                          on svg: inout SVGDrawing) -> PlotArea {
        var cursor = Double(top) + textSize
        if !panel.title.isEmpty {
            svg.text(panel.title, x: Double(originX), y: cursor, size: textSize, bold: true, role: "panel-title")
            cursor += Double(lineHeight)
        }
        svg.text(panel.y.name + " ↓", x: Double(originX), y: cursor, size: textSize, colour: .axis, role: "axis-label")
        let plotX = originX + l.left, plotY = top + l.top
        svg.image(image, x: Double(plotX), y: Double(plotY), role: "cells")
        svg.rect(x: Double(plotX) - 0.5, y: Double(plotY) - 0.5, width: Double(l.plotWidth) + 1, height: Double(l.plotHeight) + 1,
                 stroke: .axis)
        for tick in l.yTicks {
            let ty = Double(plotY + tick.offset) + 0.5
            svg.line(Double(plotX - 1 - tickLength), ty, Double(plotX - 1), ty, colour: .axis)
            svg.text(tick.label, x: Double(plotX - 3 - tickLength), y: ty + textSize * 0.36, size: textSize, colour: .axis,
                     anchor: .end, role: "tick")
        }
        let tickTop = Double(plotY + l.plotHeight + 1)
        for tick in l.xTicks {
            let tx = Double(plotX + tick.offset) + 0.5
            svg.line(tx, tickTop, tx, tickTop + Double(tickLength), colour: .axis)
            svg.text(tick.label, x: tx, y: tickTop + Double(tickLength) + 2 + textSize, size: textSize, colour: .axis,
                     anchor: .middle, role: "tick")
        }
        let xLabel = panel.x.name + " →"
        svg.text(xLabel, x: Double(plotX + max(0, (l.plotWidth - textWidth(xLabel)) / 2)),
                 y: tickTop + Double(tickLength) + 2 + textSize + Double(lineHeight), size: textSize, colour: .axis,
                 role: "axis-label")
        return PlotArea(x: plotX, y: plotY, width: l.plotWidth, height: l.plotHeight, rows: panel.matrix.rows,
                        columns: panel.matrix.columns, cellWidth: panel.cellWidth, cellHeight: panel.cellHeight)
    }

    /// The colour bar at (`x`, `y`), maximum at the top, with its scale label above and three
    /// value labels (maximum, middle, minimum) beside it.
    static func drawColourBar(x barX: Int, y barY: Int, height barHeight: Int, table: [RGB], labels: [String], scaleLabel: String,
                              on svg: inout SVGDrawing) -> (PlotArea, RGBImage) {
        let barWidth = colourBarWidth
        svg.text(scaleLabel, x: Double(barX), y: Double(barY) - 7, size: textSize, colour: .axis, role: "scale-label")
        var bar = RGBImage(width: barWidth, height: barHeight)
        for row in 0..<barHeight {
            let fraction = barHeight > 1 ? 1 - Double(row) / Double(barHeight - 1) : 0.5
            bar.fill(x: 0, y: row, width: barWidth, height: 1, table[Int((fraction * 255).rounded())])
        }
        svg.image(bar, x: Double(barX), y: Double(barY), role: "colour-bar")
        svg.rect(x: Double(barX) - 0.5, y: Double(barY) - 0.5, width: Double(barWidth) + 1, height: Double(barHeight) + 1, stroke: .axis)
        for (i, label) in labels.enumerated() {
            let ty = Double(barY + i * (barHeight - 1) / 2) + 0.5
            svg.line(Double(barX + barWidth), ty, Double(barX + barWidth + 5), ty, colour: .axis)
            let baseline = min(max(ty + textSize * 0.36, Double(barY) + textSize - 2), Double(barY + barHeight) + 2)
            svg.text(label, x: Double(barX + barWidth + 8), y: baseline, size: textSize, colour: .axis, role: "scale")
        }
        let area = PlotArea(x: barX, y: barY, width: barWidth, height: barHeight, rows: barHeight, columns: 1,
                            cellWidth: barWidth, cellHeight: 1)
        return (area, bar)
    }
}

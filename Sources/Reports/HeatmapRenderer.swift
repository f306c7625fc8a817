/// Draws a `HeatmapFigure` into an image: the title and notes, panels in a grid (each with its
/// title, axis labels with arrows — x to the right, y downwards — and index ticks), and one
/// colour bar with the scale's minimum, middle and maximum.
public enum HeatmapRenderer {
    /// Where a panel's cells landed in the image (for tests and image maps).
    public struct PlotArea: Equatable, Sendable {
        public let x: Int, y: Int, width: Int, height: Int
        public let rows: Int, columns: Int
        public let cellWidth: Int, cellHeight: Int

        /// The pixel at the centre of cell (row, column).
        public func centre(row: Int, column: Int) -> (x: Int, y: Int) {
            (x + column * cellWidth + cellWidth / 2, y + row * cellHeight + cellHeight / 2)
        }
    }

    public struct Rendered: Sendable {
        public let image: RGBImage
        public let plots: [PlotArea]
        /// The colour bar's rectangle: top is the maximum, bottom the minimum.
        public let colourBar: PlotArea
        public let low: Double, high: Double
    }

    static let scale = 2
    static let textHeight = BitmapFont.glyphHeight * scale
    static let margin = 16
    static let gap = 24
    static let tickLength = 4

    static func textWidth(_ text: String) -> Int { BitmapFont.size(text, scale: scale).width }

    /// Tick positions (pixel offsets along an axis of `pixels` pixels) and labels.
    static func ticks(for axis: HeatmapFigure.Axis, pixels: Int, vertical: Bool) -> [(offset: Int, label: String)] {
        guard axis.count > 0 else { return [] }
        func label(_ i: Int) -> String { axis.names.flatMap { i < $0.count ? $0[i] : nil } ?? String(i) }
        func offset(_ i: Int) -> Int { Int(((Double(i) + 0.5) / Double(axis.count) * Double(pixels)).rounded(.down)) }
        let space: (String) -> Int = vertical ? { _ in textHeight + 4 } : { textWidth($0) + 12 }
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
        l.top = (panel.title.isEmpty ? 0 : textHeight + 8) + textHeight + 6 + textHeight / 2
        let xLabel = textWidth(panel.x.name + " →")
        let lastTickOverhang = l.xTicks.last.map { $0.offset + textWidth($0.label) / 2 + 2 } ?? 0
        l.width = l.left + max(l.plotWidth, xLabel, lastTickOverhang, textWidth(panel.title) - l.left,
                               textWidth(panel.y.name + " ↓") - l.left)
        l.height = l.top + l.plotHeight + tickLength + 4 + textHeight + 6 + textHeight
        return l
    }

    public static func render(_ figure: HeatmapFigure) -> Rendered {
        precondition(!figure.panels.isEmpty, "a heatmap figure needs at least one panel")
        let (low, high) = figure.effectiveRange
        let table = figure.colourMap.table(256)
        let layouts = figure.panels.map(layout)
        let cellWidth = layouts.map(\.width).max()!, cellHeight = layouts.map(\.height).max()!

        // Colour bar beside the grid.
        let barLabels = [AxisTicks.label(high, digits: 4), AxisTicks.label((low + high) / 2, digits: 3), AxisTicks.label(low, digits: 4)]
        let barWidth = 18
        let barBlock = max(barWidth + 8 + (barLabels.map(textWidth).max() ?? 0), textWidth(figure.scaleLabel))
        let available = figure.maxWidth - 2 * margin - gap - barBlock
        let perRow = max(1, min(figure.panels.count, (available + gap) / (cellWidth + gap)))
        let gridRows = (figure.panels.count + perRow - 1) / perRow
        let gridWidth = perRow * cellWidth + (perRow - 1) * gap
        let gridHeight = gridRows * cellHeight + (gridRows - 1) * gap

        // Title and notes, wrapped to the figure's width.
        let contentWidth = max(gridWidth + gap + barBlock, min(textWidth(figure.title), figure.maxWidth - 2 * margin))
        let titleLines = BitmapFont.wrap(figure.title, width: contentWidth, scale: scale)
        let noteLines = figure.notes.flatMap { BitmapFont.wrap($0, width: contentWidth, scale: scale) }
        let headerHeight = (titleLines.count + noteLines.count) * (textHeight + 6) + 8

        let firstPlotTop = margin + headerHeight + layouts[0].top
        let barHeight = max(min(layouts[0].plotHeight, 260), 120)
        let width = 2 * margin + contentWidth
        let height = max(margin + headerHeight + gridHeight, firstPlotTop + barHeight + textHeight + 8) + margin
        var image = RGBImage(width: width, height: height)

        var y = margin
        for line in titleLines {
            BitmapFont.draw(line, into: &image, x: margin, y: y, scale: scale, colour: .text)
            y += textHeight + 6
        }
        for line in noteLines {
            BitmapFont.draw(line, into: &image, x: margin, y: y, scale: scale, colour: .muted)
            y += textHeight + 6
        }

        var plots: [PlotArea] = []
        let gridTop = margin + headerHeight
        for (index, panel) in figure.panels.enumerated() {
            let l = layouts[index]
            let originX = margin + (index % perRow) * (cellWidth + gap)
            let originY = gridTop + (index / perRow) * (cellHeight + gap)
            var cursorY = originY
            if !panel.title.isEmpty {
                BitmapFont.draw(panel.title, into: &image, x: originX, y: cursorY, scale: scale, colour: .text)
                cursorY += textHeight + 8
            }
            BitmapFont.draw(panel.y.name + " ↓", into: &image, x: originX, y: cursorY, scale: scale, colour: .axis)
            let plotX = originX + l.left, plotY = originY + l.top
            image.stroke(x: plotX - 1, y: plotY - 1, width: l.plotWidth + 2, height: l.plotHeight + 2, .axis)
            let m = panel.matrix
            for r in 0..<m.rows {
                for c in 0..<m.columns {
                    let v = Double(m[r, c])
                    let colour: RGB
                    if !v.isFinite { colour = .missing } else if high > low {
                        colour = table[min(max(Int(((v - low) / (high - low) * 255).rounded()), 0), 255)]
                    } else { colour = table[128] }
                    image.fill(x: plotX + c * panel.cellWidth, y: plotY + r * panel.cellHeight,
                               width: panel.cellWidth, height: panel.cellHeight, colour)
                }
            }
            for tick in l.yTicks {
                let ty = plotY + tick.offset
                image.fill(x: plotX - 1 - tickLength, y: ty, width: tickLength, height: 1, .axis)
                BitmapFont.draw(tick.label, into: &image, x: plotX - 2 - tickLength - 2 - textWidth(tick.label),
                                y: ty - textHeight / 2, scale: scale, colour: .axis)
            }
            let tickTop = plotY + l.plotHeight + 1
            for tick in l.xTicks {
                let tx = plotX + tick.offset
                image.fill(x: tx, y: tickTop, width: 1, height: tickLength, .axis)
                BitmapFont.draw(tick.label, into: &image, x: tx - textWidth(tick.label) / 2, y: tickTop + tickLength + 4,
                                scale: scale, colour: .axis)
            }
            let xLabel = panel.x.name + " →"
            BitmapFont.draw(xLabel, into: &image, x: plotX + max(0, (l.plotWidth - textWidth(xLabel)) / 2),
                            y: tickTop + tickLength + 4 + textHeight + 6, scale: scale, colour: .axis)
            plots.append(PlotArea(x: plotX, y: plotY, width: l.plotWidth, height: l.plotHeight, rows: m.rows,
                                  columns: m.columns, cellWidth: panel.cellWidth, cellHeight: panel.cellHeight))
        }

        // The colour bar: maximum at the top.
        let barX = margin + gridWidth + gap
        let barY = firstPlotTop
        BitmapFont.draw(figure.scaleLabel, into: &image, x: barX, y: barY - textHeight - 6, scale: scale, colour: .axis)
        for row in 0..<barHeight {
            let fraction = barHeight > 1 ? 1 - Double(row) / Double(barHeight - 1) : 0.5
            image.fill(x: barX, y: barY + row, width: barWidth, height: 1, table[Int((fraction * 255).rounded())])
        }
        image.stroke(x: barX - 1, y: barY - 1, width: barWidth + 2, height: barHeight + 2, .axis)
        for (i, label) in barLabels.enumerated() {
            let ty = barY + i * (barHeight - 1) / 2
            image.fill(x: barX + barWidth + 1, y: ty, width: 4, height: 1, .axis)
            BitmapFont.draw(label, into: &image, x: barX + barWidth + 8, y: min(max(ty - textHeight / 2, barY - 2), barY + barHeight - textHeight + 2),
                            scale: scale, colour: .axis)
        }
        let bar = PlotArea(x: barX, y: barY, width: barWidth, height: barHeight, rows: barHeight, columns: 1,
                           cellWidth: barWidth, cellHeight: 1)
        return Rendered(image: image, plots: plots, colourBar: bar, low: low, high: high)
    }
}

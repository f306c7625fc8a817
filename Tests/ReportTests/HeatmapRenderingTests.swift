import DNCNumerics
import DNCStorage
import Foundation
import TestSupport
import XCTest
@testable import DNCReports

final class HeatmapRenderingTests: XCTestCase {
    /// Viridis at 0, 1/3, 2/3 and 1 are reference colours 0, 3, 6 and 9 of its ten.
    func testViridisAnchors() {
        let v = ColourMap.viridis
        XCTAssertEqual(v.colour(0), RGB(hex: 0x440154))
        XCTAssertEqual(v.colour(1.0 / 3), RGB(hex: 0x31688E))
        XCTAssertEqual(v.colour(2.0 / 3), RGB(hex: 0x35B779))
        XCTAssertEqual(v.colour(1), RGB(hex: 0xFDE725))
        XCTAssertEqual(v.colour(-5), RGB(hex: 0x440154))
        XCTAssertEqual(v.colour(.nan), RGB.missing)
        let table = v.table(256)
        XCTAssertEqual(table[85], RGB(hex: 0x31688E))
        XCTAssertEqual(table[170], RGB(hex: 0x35B779))
    }

    /// A known (T=2, 1, N=2) tensor from a real debug-dump file renders to the expected colours:
    /// time along x, cells down y, min dark purple, max yellow; the colour bar runs from max (top)
    /// to min (bottom). Checked twice: the embedded PNGs decoded by Python, and chromium's
    /// picture of the whole SVG at the places the renderer reports; the labels are SVG text.
    func testKnownTensorRendersToExpectedPixelColours() throws {
        let directory = Executables.temporaryDirectory("heatmap-known")
        let url = directory.appendingPathComponent("debug-rank0.h5")
        // t0: cell0 = 0, cell1 = 1/3;  t1: cell0 = 2/3, cell1 = 1.
        let tensor = Tensor<Float>(shape: [2, 1, 2], storage: [0, 1.0 / 3, 2.0 / 3, 1])
        try writeDebugDump(url, datasets: [("write_weights", "time,one,cell", tensor)])
        let dump = try DebugDump(contentsOf: url)
        XCTAssertEqual(dump.entries.map(\.key), ["write_weights"])
        XCTAssertEqual(dump.entries[0].axes, ["time", "one", "cell"])
        let figure = DebugFigures.figure(try dump.tensor(dump.entries[0]), context: "test")
        XCTAssertEqual(figure.panels.count, 1)
        XCTAssertEqual(figure.panels[0].x.name, "time")
        XCTAssertEqual(figure.panels[0].y.name, "cell")
        let rendered = HeatmapRenderer.render(figure)
        let plot = try XCTUnwrap(rendered.plots.first)
        XCTAssertEqual(plot.rows, 2)
        XCTAssertEqual(plot.columns, 2)
        XCTAssertEqual(rendered.low, 0)
        XCTAssertEqual(rendered.high, 1, accuracy: 1e-7)
        let expected = ["#440154", "#31688e", "#35b779", "#fde725", "#fde725", "#440154"]

        let svg = try SVGInspection(rendered.drawing.document)
        XCTAssertEqual(svg.texts(role: "title"), ["write_weights — test"])
        XCTAssertEqual(svg.texts(role: "axis-label"), ["cell ↓", "time →"])
        XCTAssertEqual(svg.texts(role: "tick"), ["0", "1", "0", "1"])
        XCTAssertEqual(svg.texts(role: "scale-label"), ["write_weights"])
        XCTAssertEqual(svg.texts(role: "scale"), ["1", "0.5", "0"])
        let cells = try XCTUnwrap(svg.named("image").first { $0.attributes["class"] == "cells" })
        XCTAssertEqual([cells.attributes["x"], cells.attributes["y"]], [String(plot.x), String(plot.y)])
        let cellPoints = [(0, 0), (1, 0), (0, 1), (1, 1)].map { plot.centre(row: $0.0, column: $0.1) }
        let decodedCells = try PythonPNG.decode(SVGInspection.png(of: cells), samples: cellPoints.map { ($0.x - plot.x, $0.y - plot.y) })
        XCTAssertEqual(decodedCells.width, plot.width)
        XCTAssertEqual(decodedCells.height, plot.height)
        XCTAssertEqual(decodedCells.samples, Array(expected.prefix(4)))
        let barImage = try XCTUnwrap(svg.named("image").first { $0.attributes["class"] == "colour-bar" })
        let bar = rendered.colourBar
        let decodedBar = try PythonPNG.decode(SVGInspection.png(of: barImage), samples: [(bar.width / 2, 0), (bar.width / 2, bar.height - 1)])
        XCTAssertEqual(decodedBar.samples, Array(expected.suffix(2)))

        let file = directory.appendingPathComponent("heatmap.svg")
        try rendered.drawing.document.write(to: file, atomically: true, encoding: .utf8)
        let shot = try HeadlessChromium.screenshot(file, width: rendered.drawing.width, height: rendered.drawing.height)
        let points = cellPoints.map { ($0.x, $0.y) } + [(bar.x + bar.width / 2, bar.y), (bar.x + bar.width / 2, bar.y + bar.height - 1)]
        XCTAssertEqual(try PythonPNG.decode(shot, samples: points).samples, expected, "chromium's picture of the SVG")
    }

    func testMemoryIsShownAsSnapshotsOverTime() {
        let t = 3, n = 16, w = 8
        let values = (0..<(t * n * w)).map { Float($0) }
        let figure = DebugFigures.figure(tensor("memory", ["time", "cell", "word"], [t, n, w], values), context: "c")
        XCTAssertEqual(figure.panels.map(\.title), ["time 0", "time 1", "time 2"])
        for (time, panel) in figure.panels.enumerated() {
            XCTAssertEqual(panel.matrix.rows, n)
            XCTAssertEqual(panel.matrix.columns, w)
            XCTAssertEqual(panel.y.name, "cell")
            XCTAssertEqual(panel.x.name, "word")
            XCTAssertEqual(panel.matrix[3, 5], Float(time * n * w + 3 * w + 5))
        }
        XCTAssertEqual(figure.notes.first, "(time, cell, word) = 3×16×8")
    }

    func testReadWeightsAreOnePanelPerHeadOverTime() {
        let figure = DebugFigures.figure(tensor("read_weights", ["time", "head", "cell"], [5, 2, 4], (0..<40).map(Float.init)),
                                         context: "c")
        XCTAssertEqual(figure.panels.map(\.title), ["head 0", "head 1"])
        XCTAssertEqual(figure.panels[1].matrix.rows, 4)
        XCTAssertEqual(figure.panels[1].matrix.columns, 5)
        // Head 1, cell 3 at time 4: index (4 * 2 + 1) * 4 + 3.
        XCTAssertEqual(figure.panels[1].matrix[3, 4], Float((4 * 2 + 1) * 4 + 3))
    }

    func testLargeTensorsAreDownsampledAndSaySo() {
        let n = 512
        var values = [Float](repeating: 0, count: 2 * n * n)
        values[0] = 16  // block (0, 0) of 4×4 averages to 1
        let link = DebugFigures.figure(tensor("link_matrix", ["time", "cell_to", "cell_from"], [2, n, n], values), context: "c")
        XCTAssertTrue(link.notes.contains("link_matrix 512×512 shown at 128×128 (mean of 4×4 blocks)"), "\(link.notes)")
        XCTAssertEqual(link.panels[0].matrix.rows, 128)
        XCTAssertEqual(link.panels[0].matrix[0, 0], 1)

        let long = DebugFigures.figure(tensor("usage_vector", ["time", "one", "cell"], [1000, 1, 4], [Float](repeating: 1, count: 4000)),
                                       context: "c")
        XCTAssertTrue(long.notes.contains("time 1000 shown at 334 (mean of 3 steps)"), "\(long.notes)")
        XCTAssertEqual(long.panels[0].matrix.columns, 334)

        let many = DebugFigures.figure(tensor("memory", ["time", "cell", "word"], [50, 16, 4], [Float](repeating: 0, count: 3200)),
                                       context: "c")
        XCTAssertEqual(many.panels.count, 16)
        XCTAssertEqual(many.panels.first?.title, "time 0")
        XCTAssertEqual(many.panels.last?.title, "time 49")
        XCTAssertTrue(many.notes.contains { $0.hasPrefix("16 of 50 time steps shown: 0, ") }, "\(many.notes)")
    }

    func testNonFiniteValuesAreMagentaAndCounted() {
        let figure = DebugFigures.figure(tensor("precedence", ["time", "one", "cell"], [2, 1, 2], [0, .nan, 1, .infinity]), context: "c")
        XCTAssertTrue(figure.notes.contains("2 non-finite values (NaN or ±inf) shown in magenta"))
        let rendered = HeatmapRenderer.render(figure)
        let plot = rendered.plots[0], cells = rendered.cellImages[0]
        let centre = plot.centre(row: 1, column: 0)
        XCTAssertEqual(cells[centre.x - plot.x, centre.y - plot.y], RGB.missing)
        let finite = plot.centre(row: 0, column: 1)
        XCTAssertEqual(cells[finite.x - plot.x, finite.y - plot.y], RGB(hex: 0xFDE725))
    }

    /// The sparse memories' keys are generic (T, a, b) datasets: integer read positions and
    /// visible memory render like any other key, read from a real file.
    func testSparseMemoryKeysRender() throws {
        let url = Executables.temporaryDirectory("heatmap-sparse").appendingPathComponent("debug-rank1.h5")
        try writeDebugDump(url, datasets: [("visible_memory", "time,visible,word", Tensor<Float>(shape: [4, 20, 6], repeating: 0.5))],
                           ints: [("read_positions", "time,head,slot", [4, 2, 8], (0..<64).map { Int64($0 % 13) })])
        let dump = try DebugDump(contentsOf: url)
        XCTAssertEqual(dump.rank, 1)
        XCTAssertEqual(dump.keys, ["read_positions", "visible_memory"])
        let positions = try dump.tensor(dump.entries.first { $0.key == "read_positions" }!)
        XCTAssertEqual(positions.values.prefix(3), [0, 1, 2])
        let figure = DebugFigures.figure(positions, context: "c")
        XCTAssertEqual(figure.panels.map(\.title), ["head 0", "head 1"])
        XCTAssertEqual(figure.panels[0].y.name, "slot")
        let visible = DebugFigures.figure(try dump.tensor(dump.entries.first { $0.key == "visible_memory" }!), context: "c")
        XCTAssertEqual(visible.panels.count, 4)
        XCTAssertEqual(visible.panels[0].y.name, "visible")
        XCTAssertGreaterThan(HeatmapRenderer.render(visible).drawing.width, 100)
    }

    func testModeNamesLabelTheRows() throws {
        let url = Executables.temporaryDirectory("heatmap-modes").appendingPathComponent("debug-rank0.h5")
        try writeDebugDump(url, datasets: [("read_modes", "time,head,mode", Tensor<Float>(shape: [3, 1, 3], repeating: 0.3))])
        let file = try HDF5File(path: url.path, mode: .readWrite)
        try file.writeAttribute("modes", "backward,forward,content", at: "step_00000010/layer_0/read_modes")
        try file.close()
        let dump = try DebugDump(contentsOf: url)
        let tensor = try dump.tensor(dump.entries[0])
        XCTAssertEqual(tensor.lastAxisNames, ["backward", "forward", "content"])
        let figure = DebugFigures.figure(tensor, context: "c")
        XCTAssertEqual(figure.panels[0].y.names, ["backward", "forward", "content"])
        XCTAssertEqual(HeatmapRenderer.ticks(for: figure.panels[0].y, pixels: 72, vertical: true).map(\.label),
                       ["backward", "forward", "content"])
        let svg = try SVGInspection(HeatmapRenderer.render(figure).drawing.inline)
        XCTAssertEqual(svg.texts(role: "tick").prefix(3), ["backward", "forward", "content"], "the names are the rows' labels, as text")
    }

    private func tensor(_ key: String, _ axes: [String], _ shape: [Int], _ values: [Float]) -> DebugDump.Tensor {
        DebugDump.Tensor(entry: DebugDump.Entry(step: 1, layer: 0, key: key, path: "step_00000001/layer_0/\(key)", shape: shape,
                                                axes: axes, batchElement: 0),
                         values: values, lastAxisNames: nil)
    }
}

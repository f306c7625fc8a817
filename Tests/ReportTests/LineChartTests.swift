import Foundation
import XCTest
@testable import DNCReports

final class LineChartTests: XCTestCase {
    func testNiceTicksAndLabels() {
        XCTAssertEqual(AxisTicks.linear(0, 1, target: 5), [0, 0.2, 0.4, 0.6, 0.8, 1])
        XCTAssertEqual(AxisTicks.linear(13, 97, target: 4), [25, 50, 75])
        XCTAssertEqual(AxisTicks.logarithmic(0.02, 3), [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2])
        XCTAssertEqual(AxisTicks.indices(16, target: 8), [0, 2, 4, 6, 8, 10, 12, 14])
        XCTAssertEqual(AxisTicks.label(0.000123), "1.23e-4")
        XCTAssertEqual(AxisTicks.label(2_500_000), "2.5e6")
        XCTAssertEqual(AxisTicks.label(0.70471), "0.705")
        XCTAssertEqual(AxisTicks.label(40), "40")
        XCTAssertEqual(AxisTicks.labels([0.7, 0.705, 0.71]), ["0.700", "0.705", "0.710"])
        XCTAssertEqual(AxisTicks.labels([0, 25, 50]), ["0", "25", "50"])
        XCTAssertEqual(AxisTicks.labels([0.0009, 0.00095, 0.001]), ["9e-4", "9.5e-4", "1e-3"])
    }

    func testLogarithmicScaleOnlyForWidePositiveRanges() {
        let wide = LineChart(title: "loss", xLabel: "step", series: [.init(name: "loss", points: [(1, 10), (2, 0.01)])])
        XCTAssertTrue(wide.usesLogarithmicY)
        let narrow = LineChart(title: "loss", xLabel: "step", series: [.init(name: "loss", points: [(1, 0.7), (2, 0.69)])])
        XCTAssertFalse(narrow.usesLogarithmicY)
        let signed = LineChart(title: "x", xLabel: "step", series: [.init(name: "x", points: [(1, -10), (2, 0.01)])])
        XCTAssertFalse(signed.usesLogarithmicY)
    }

    func testSeriesAreDrawnInTheirColoursWithinThePlot() throws {
        let chart = LineChart(title: "two series", xLabel: "length",
                              series: [.init(name: "a", points: [(0, 0), (10, 1)]), .init(name: "b", points: [(0, 1), (10, 0)])])
        let rendered = LineChartRenderer.render(chart)
        let plot = rendered.plot
        // The lines cross in the middle of the plot; both colours appear inside it.
        var colours = Set<RGB>()
        for y in plot.y..<(plot.y + plot.height) { for x in plot.x..<(plot.x + plot.width) { colours.insert(rendered.image[x, y]) } }
        XCTAssertTrue(colours.contains(LineChart.palette[0]))
        XCTAssertTrue(colours.contains(LineChart.palette[1]))
        let decoded = try PythonPNG.decode(PNGEncoder.encode(rendered.image))
        XCTAssertEqual(decoded.width, 520)
        XCTAssertGreaterThan(decoded.nonBackground, 0.02)
    }

    func testNonFiniteValuesDoNotBreakTheChart() {
        let chart = LineChart(title: "loss", xLabel: "step", series: [.init(name: "loss", points: [(1, 1), (2, .nan), (3, 2)])],
                              yScale: .linear)
        // Rendering must not trap, and the figure still has the finite points.
        let rendered = LineChartRenderer.render(chart)
        XCTAssertFalse(rendered.image.isUniform)
    }
}

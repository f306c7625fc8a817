import Foundation
import TestSupport
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

    /// The SVG reads back as XML with every word as `<text>`, each series as a polyline in its
    /// colour inside the plot; chromium draws the markers where the SVG says, in those colours.
    func testSeriesAreDrawnInTheirColoursWithinThePlot() throws {
        let chart = LineChart(title: "two series", xLabel: "length",
                              series: [.init(name: "a", points: [(0, 0), (10, 1)]), .init(name: "b", points: [(0, 1), (10, 0)])])
        let rendered = LineChartRenderer.render(chart)
        let svg = try SVGInspection(rendered.drawing.document)
        XCTAssertEqual(svg.root.name, "svg")
        XCTAssertEqual(svg.root.attributes["xmlns"], "http://www.w3.org/2000/svg")
        XCTAssertEqual(svg.width, 520)
        XCTAssertEqual(svg.texts(role: "title"), ["two series"])
        XCTAssertEqual(svg.texts(role: "legend"), ["a", "b"])
        XCTAssertEqual(svg.texts(role: "axis-label"), ["length →"])
        XCTAssertEqual(svg.texts(role: "tick"), ["0.00", "0.25", "0.50", "0.75", "1.00", "0", "5", "10"])
        let lines = svg.named("polyline")
        XCTAssertEqual(lines.map { $0.attributes["stroke"] }, [LineChart.palette[0].description, LineChart.palette[1].description])
        let plot = rendered.plot
        for line in lines {
            for pair in line.attributes["points"]!.split(separator: " ") {
                let xy = pair.split(separator: ",").map { Double($0)! }
                XCTAssertTrue(xy[0] >= plot.x && xy[0] <= plot.x + plot.width && xy[1] >= plot.y && xy[1] <= plot.y + plot.height,
                              "\(xy) outside the plot \(plot)")
            }
        }
        // Markers: in chromium's picture, the pixel under each marker's centre has its series' colour.
        let circles = svg.named("circle")
        XCTAssertEqual(circles.count, 4)
        let url = Executables.temporaryDirectory("chart-svg").appendingPathComponent("chart.svg")
        try rendered.drawing.document.write(to: url, atomically: true, encoding: .utf8)
        let shot = try HeadlessChromium.screenshot(url, width: rendered.drawing.width, height: rendered.drawing.height)
        let points = circles.map { (Int(Double($0.attributes["cx"]!)!), Int(Double($0.attributes["cy"]!)!)) }
        let decoded = try PythonPNG.decode(shot, samples: points)
        XCTAssertEqual(decoded.samples, circles.map { $0.attributes["fill"]! })
        XCTAssertGreaterThan(decoded.nonBackground, 0.02)
    }

    /// A point that is not finite breaks the line there: no segment through it, and a note says so.
    func testNonFiniteValuesDoNotBreakTheChart() throws {
        let chart = LineChart(title: "loss", xLabel: "step", series: [.init(name: "loss", points: [(1, 1), (2, .nan), (3, 2), (4, 3)])],
                              yScale: .linear)
        let svg = try SVGInspection(LineChartRenderer.render(chart).drawing.document)
        XCTAssertEqual(svg.named("circle").count, 3)
        XCTAssertEqual(svg.named("polyline").count, 1, "only (3, 2)–(4, 3) are joined")
        XCTAssertEqual(svg.named("polyline").first?.attributes["points"]?.split(separator: " ").count, 2)
        XCTAssertTrue(svg.texts(role: "note").contains("1 non-finite values not drawn"), "\(svg.texts)")
    }

    /// Text in a chart is escaped as XML, and long titles and notes wrap to the figure.
    func testTextIsEscapedAndWrapped() throws {
        let title = "a <b> & \"c\" 'd' " + String(repeating: "word ", count: 30)
        let chart = LineChart(title: title, notes: ["x < y & z"], xLabel: "step", series: [.init(name: "s", points: [(0, 1), (1, 2)])])
        let rendered = LineChartRenderer.render(chart)
        let svg = try SVGInspection(rendered.drawing.inline)
        let lines = svg.texts(role: "title")
        XCTAssertGreaterThan(lines.count, 1, "a title wider than the figure wraps")
        XCTAssertEqual(lines.joined(separator: " "), title.trimmingCharacters(in: .whitespaces))
        XCTAssertEqual(svg.texts(role: "note").first, "x < y & z")
        let control = LineChart(title: "bell\u{7} tab\u{1B}", xLabel: "step", series: [.init(name: "s", points: [(0, 1)])])
        XCTAssertEqual(try SVGInspection(LineChartRenderer.render(control).drawing.document).texts(role: "title"), ["bell? tab?"],
                       "control characters XML forbids are replaced")
        XCTAssertFalse(rendered.drawing.inline.contains("http://"), "inline SVG for the page names no URL")
        XCTAssertEqual(TextMetrics.wrap("aaa bbb ccc", width: TextMetrics.width("aaa bbb", size: 10), size: 10), ["aaa bbb", "ccc"])
        XCTAssertEqual(TextMetrics.wrap("", width: 10, size: 10), [""])
    }

    /// In chromium, every label of a chart with wide numbers, a wrapped title and a legend is
    /// set with the page's font and lies inside the figure (the layout's width estimates hold).
    func testLabelsFitInsideTheFigureInChromium() throws {
        let wide = LineChart(title: "sequences per second with a long title that has to wrap onto a second line", notes: ["last: 1.23e6"],
                             xLabel: "sequence length",
                             series: [.init(name: "eval", points: [(4, 1_234_567), (800_000, 2_345_678)]),
                                      .init(name: "eval-L10-extra", points: [(4, 1_000_000), (800_000, 3_000_000)]),
                                      .init(name: "third series name", points: [(4, 1_500_000), (800_000, 900_000)])])
        let log = LineChart(title: "loss", xLabel: "step", series: [.init(name: "loss", points: (1...400).map { (Double($0), 1 / Double($0)) },
                                                                          smoothing: 17)])
        let figures = [wide, log].enumerated().map { index, chart in
            ReportFigure(id: "chart\(index)", kind: .training, key: "k\(index)", title: chart.title,
                         drawing: LineChartRenderer.render(chart).drawing)
        }
        let check = try HeadlessChromium.check(HTMLPage.document(title: "charts", body: figures.map { $0.html() }.joined(separator: "\n")))
        XCTAssertEqual(check.errors, [])
        XCTAssertEqual(check.figures.count, 2)
        for figure in check.figures {
            XCTAssertTrue(figure.loaded, "\(figure.key ?? "?")")
            XCTAssertEqual(figure.unrendered, [], "labels chromium did not set")
            XCTAssertEqual(figure.overflowing, [], "labels outside the figure")
        }
        XCTAssertTrue(check.figures[0].texts.contains("eval-L10-extra"), "\(check.figures[0].texts)")
        XCTAssertTrue(check.figures[1].texts.contains("logarithmic y axis"), "\(check.figures[1].texts)")
    }
}

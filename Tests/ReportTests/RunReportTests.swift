import DNCStorage
import Foundation
import TestSupport
import XCTest
@testable import DNCReports

/// Reports of real `dnc-dist train` runs, opened in headless chromium.
final class RunReportTests: XCTestCase {
    nonisolated(unsafe) static var runs: [String: URL] = [:]

    static let denseArguments = ["train", "copy", "-iterations", "60", "-batch_size", "8", "-nhid", "32", "-mem_slot", "16",
                                 "-mem_size", "8", "-read_heads", "2", "-summarize_freq", "20", "-debug", "-eval_lengths", "4,8,16"]
    static let controllerArguments = ["train", "copy", "-iterations", "40", "-batch_size", "8", "-nhid", "32", "-memory_type",
                                      "none", "-summarize_freq", "20", "-debug", "-eval_lengths", "4,8"]

    /// Starts the dense run for 100 000 steps, summarising every 5, in `directory` (the caller
    /// stops it).
    static func startLongRun(in directory: URL) throws -> Executables.Running {
        var arguments = denseArguments
        arguments[3] = "100000"
        arguments[arguments.firstIndex(of: "-summarize_freq")! + 1] = "5"
        return try Executables.start("dnc-dist", arguments + ["--run-dir", directory.path])
    }

    /// A finished short run (made once per test process).
    func trainedRun(_ name: String, _ arguments: [String]) throws -> URL {
        if let url = Self.runs[name] { return url }
        let directory = Executables.temporaryDirectory("report-\(name)").appendingPathComponent("run")
        let result = try Executables.run("dnc-dist", arguments + ["--run-dir", directory.path], timeout: 300)
        if result.status == 2 && (result.error.contains("not in this build") || result.error.contains("not available in this build")) {
            throw XCTSkip("\(name): \(result.error.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        XCTAssertEqual(result.status, 0, "dnc-dist \(arguments.joined(separator: " ")): \(result.error)")
        Self.runs[name] = directory
        return directory
    }

    /// Every (rank, step, layer, key) in the run's debug files, read with the HDF5 layer directly.
    func debugKeys(in run: URL) throws -> Set<String> {
        var keys = Set<String>()
        for name in try FileManager.default.contentsOfDirectory(atPath: run.path) where name.hasPrefix("debug-rank") {
            let rank = Int(name.dropFirst("debug-rank".count).dropLast(3))!
            let file = try HDF5File(path: run.appendingPathComponent(name).path)
            for step in try file.children(of: "/") where step.hasPrefix("step_") {
                // The step group also holds the recorded sample and the dimension scales.
                for layer in try file.children(of: step) where layer.hasPrefix("layer_") {
                    for key in try file.children(of: "\(step)/\(layer)") {
                        keys.insert("\(rank)/\(Int(step.dropFirst(5))!)/\(Int(layer.dropFirst(6))!)/\(key)")
                    }
                }
            }
            try file.close()
        }
        return keys
    }

    /// The page is self-contained, loads without errors or fetches in chromium, has a loaded
    /// figure for every debug key and both kinds of curves, and its screenshot is not blank.
    @discardableResult
    func assertReportOpensCleanly(_ run: URL, file: StaticString = #filePath, line: UInt = #line) throws -> HeadlessChromium.Check {
        let report = try RunReport(runDirectory: run, options: ReportOptions(steps: .all))
        let page = run.appendingPathComponent("report.html")
        try report.writeHTML(to: page)
        let html = report.html
        XCTAssertTrue(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:;"),
                      file: file, line: line)
        for forbidden in ["http://", "https://", "<script", "<link", "@import", "@font-face", "url(", "<iframe"] {
            XCTAssertFalse(html.contains(forbidden), "the page contains '\(forbidden)'", file: file, line: line)
        }

        let check = try HeadlessChromium.check(html)
        XCTAssertEqual(check.errors, [], "errors while loading", file: file, line: line)
        XCTAssertEqual(check.resources, [], "the page fetched resources", file: file, line: line)
        XCTAssertEqual(check.external, [], "the page references external resources", file: file, line: line)
        let broken = check.figures.filter { !$0.loaded || !$0.embedded }
        XCTAssertEqual(broken.count, 0, "figures whose drawing did not load: \(broken.map { $0.key ?? "?" })", file: file, line: line)
        // Every word of every figure is text that chromium set inside its figure.
        for figure in check.figures {
            XCTAssertEqual(figure.unrendered, [], "\(figure.key ?? "?"): labels chromium did not set", file: file, line: line)
            XCTAssertEqual(figure.overflowing, [], "\(figure.key ?? "?"): labels outside the figure", file: file, line: line)
        }
        for figure in check.figures where figure.kind == "debug" {
            XCTAssertTrue(figure.texts.contains { $0.hasPrefix("\(figure.key ?? "?") — step \(figure.step ?? "?")") },
                          "the heatmap's title is text: \(figure.texts.prefix(3))", file: file, line: line)
        }
        let loss = check.figures.first { $0.kind == "training" && $0.key == "loss" }
        XCTAssertEqual(loss?.texts.first, "loss", "the chart's title is text", file: file, line: line)
        XCTAssertTrue(loss?.texts.contains("step →") == true, "the x axis label is text", file: file, line: line)

        let expected = try debugKeys(in: run)
        let shown = Set(check.figures.filter { $0.kind == "debug" && $0.loaded }.map {
            "\($0.rank ?? "?")/\($0.step ?? "?")/\($0.layer ?? "?")/\($0.key ?? "?")"
        })
        XCTAssertEqual(shown, expected, "a figure for every debug key", file: file, line: line)
        let training = Set(check.figures.filter { $0.kind == "training" && $0.loaded }.compactMap(\.key))
        XCTAssertTrue(training.isSuperset(of: ["loss", "bit_errors", "sequences_per_second", "max_length"]), "\(training)",
                      file: file, line: line)
        let generalisation = Set(check.figures.filter { $0.kind == "generalisation" && $0.loaded }.compactMap(\.key))
        XCTAssertTrue(generalisation.isSuperset(of: ["loss", "masked_bit_accuracy"]), "\(generalisation)", file: file, line: line)
        XCTAssertEqual(check.figures.count, report.figures.count, file: file, line: line)
        XCTAssertTrue(check.text.contains("Training curves") && check.text.contains("Generalisation"), file: file, line: line)
        XCTAssertFalse(check.text.contains("Missing or unreadable"), "a finished run has nothing missing: \(report.problems)",
                       file: file, line: line)

        let shot = try HeadlessChromium.screenshot(page, width: 1200, height: 1600)
        let decoded = try PythonPNG.decode(shot)
        XCTAssertEqual(decoded.width, 1200, file: file, line: line)
        XCTAssertEqual(decoded.height, 1600, file: file, line: line)
        XCTAssertGreaterThan(decoded.nonBackground, 0.05, "screenshot is (nearly) blank", file: file, line: line)
        XCTAssertGreaterThan(decoded.distinctColours, 50, "screenshot has almost no colours", file: file, line: line)
        return check
    }

    func testDenseDNCReportInHeadlessChromium() throws {
        let run = try trainedRun("dense", Self.denseArguments)
        let keys = try debugKeys(in: run)
        XCTAssertEqual(Set(keys.map { String($0.split(separator: "/")[3]) }),
                       ["memory", "link_matrix", "precedence", "read_weights", "write_weights", "usage_vector",
                        "allocation_weights", "read_modes", "write_gate", "free_gates"])
        try assertReportOpensCleanly(run)
    }

    func testControllerOnlyReportInHeadlessChromium() throws {
        let run = try trainedRun("controller", Self.controllerArguments)
        let check = try assertReportOpensCleanly(run)
        XCTAssertTrue(check.text.contains("No memory tensors"), "the report says why there are no heatmaps")
    }

    /// Sparse Access Memory, when this build has it (skipped while `-memory_type sam` is refused).
    func testSparseAccessMemoryReportInHeadlessChromium() throws {
        var arguments = Self.denseArguments
        arguments += ["-memory_type", "sam"]
        let run = try trainedRun("sam", arguments)
        try assertReportOpensCleanly(run)
    }

    /// The checker itself: a missing image file, a broken image, a figure that is not SVG and
    /// an external stylesheet are all caught (so the tests above would fail on such a page).
    func testBrowserCheckCatchesMissingImagesAndExternalReferences() throws {
        let page = HTMLPage.document(title: "bad", body: """
            <link rel="stylesheet" href="https://fonts.invalid/font.css">
            <figure data-figure="debug" data-key="memory"><svg width="10" height="10"><image href="missing.png" width="10" height="10"/></svg></figure>
            <figure data-figure="debug" data-key="usage_vector"><svg width="10" height="10"><image href="data:image/png;base64,AAAA" width="10" height="10"/></svg></figure>
            <figure data-figure="debug" data-key="read_weights"><img src="data:image/png;base64,AAAA" width="10" height="10" alt=""></figure>
            """)
        let check = try HeadlessChromium.check(page)
        XCTAssertEqual(check.figures.map(\.loaded), [false, false, false], "broken images, and a figure without SVG")
        XCTAssertEqual(check.figures.map(\.embedded), [false, true, true])
        XCTAssertTrue(check.external.contains("https://fonts.invalid/font.css"), "\(check.external)")
        XCTAssertTrue(check.external.contains("missing.png"), "\(check.external)")
        XCTAssertFalse(check.errors.isEmpty, "load errors are recorded")
        XCTAssertFalse(check.resources.isEmpty, "fetch attempts are recorded")
    }

    /// The figure files: one standalone SVG per figure, well-formed XML in the SVG namespace, the
    /// heatmaps' cells inside as PNGs that Python decodes; `file` recognises them.
    func testFigureFilesAreStandaloneSVG() throws {
        let run = try trainedRun("dense", Self.denseArguments)
        let report = try RunReport(runDirectory: run)
        let directory = Executables.temporaryDirectory("report-figures")
        let files = try report.writeFigures(to: directory)
        XCTAssertEqual(files.count, report.figures.count)
        XCTAssertEqual(Set(files.map(\.lastPathComponent)).count, files.count, "file names are unique")
        XCTAssertTrue(files.contains { $0.lastPathComponent == "rank0-step00000060-layer0-memory.svg" }, "\(files)")
        XCTAssertTrue(files.contains { $0.lastPathComponent == "training-loss.svg" })
        XCTAssertTrue(files.contains { $0.lastPathComponent == "generalisation-masked_bit_accuracy.svg" })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasSuffix(".svg") }, [])
        for (figure, url) in zip(report.figures, files) {
            let svg = try SVGInspection(String(contentsOf: url, encoding: .utf8))
            XCTAssertEqual(svg.root.name, "svg", url.lastPathComponent)
            XCTAssertEqual(svg.root.attributes["xmlns"], "http://www.w3.org/2000/svg", url.lastPathComponent)
            XCTAssertEqual(svg.width, figure.width, url.lastPathComponent)
            XCTAssertEqual(svg.height, figure.height, url.lastPathComponent)
            XCTAssertFalse(svg.texts.isEmpty, url.lastPathComponent)
            XCTAssertEqual(svg.named("title").first?.content, figure.title, url.lastPathComponent)
            let images = svg.named("image")
            XCTAssertEqual(images.isEmpty, figure.kind != .debug, "raster cells only in heatmaps: \(url.lastPathComponent)")
            if figure.key == "memory" && figure.step == 60 {
                // Snapshots, one cells image each, and the colour bar.
                let panels = images.filter { $0.attributes["class"] == "cells" }
                XCTAssertGreaterThan(panels.count, 1)
                XCTAssertEqual(images.filter { $0.attributes["class"] == "colour-bar" }.count, 1)
                let decoded = try PythonPNG.decode(SVGInspection.png(of: panels[0]))
                XCTAssertEqual(decoded.width, Int(panels[0].attributes["width"]!))
                XCTAssertEqual(decoded.height, Int(panels[0].attributes["height"]!))
                XCTAssertGreaterThan(decoded.distinctColours, 5)
                XCTAssertTrue(svg.texts(role: "panel-title").starts(with: ["time 0", "time 1"]), "\(svg.texts(role: "panel-title"))")
                XCTAssertTrue(svg.texts(role: "axis-label").contains("cell ↓"), "\(svg.texts(role: "axis-label"))")
                XCTAssertTrue(svg.texts(role: "axis-label").contains("word →"))
            }
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/file") {
            let output = try shell("/usr/bin/file", ["-b", directory.appendingPathComponent("training-loss.svg").path]).output
            XCTAssertTrue(output.hasPrefix("SVG Scalable Vector Graphics image"), output)
        }
    }

    /// A run killed with SIGKILL part-way through still gives a report, which says what is
    /// missing; damaged and cut-short files are listed one by one.
    func testKilledRunReportSaysWhatIsMissing() throws {
        let directory = Executables.temporaryDirectory("report-killed").appendingPathComponent("run")
        let running = try Self.startLongRun(in: directory)
        let metrics = directory.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let lines = ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").split(separator: "\n").count
            if lines >= 2 { break }
            usleep(100_000)
        }
        kill(running.process.processIdentifier, SIGKILL)
        _ = running.finish()

        let report = try RunReport(runDirectory: directory)
        XCTAssertFalse(report.finished)
        XCTAssertTrue(report.problems.contains { $0.file == "eval.h5" && $0.message.hasPrefix("missing") }, "\(report.problems)")
        XCTAssertTrue(report.html.contains("Missing or unreadable"))
        XCTAssertTrue(report.html.contains("incomplete: last summary at step"))
        XCTAssertTrue(report.figures.contains { $0.kind == .training && $0.key == "loss" })

        // Damage a copy further: cut the metrics mid-line, truncate the debug dump, drop the configuration.
        let damaged = Executables.temporaryDirectory("report-damaged").appendingPathComponent("run")
        try FileManager.default.copyItem(at: directory, to: damaged)
        let handle = try FileHandle(forWritingTo: damaged.appendingPathComponent("metrics.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"bit_errors\":6.1,\"loss\":0.7".utf8))
        try handle.close()
        let dump = damaged.appendingPathComponent("debug-rank0.h5")
        let bytes = try Data(contentsOf: dump)
        try bytes.prefix(min(bytes.count / 3, 4000)).write(to: dump)
        try FileManager.default.removeItem(at: damaged.appendingPathComponent("configuration.json"))

        let partial = try RunReport(runDirectory: damaged)
        let byFile = Dictionary(grouping: partial.problems, by: \.file)
        XCTAssertNotNil(byFile["configuration.json"], "\(partial.problems)")
        XCTAssertTrue(byFile["metrics.jsonl"]?.contains { $0.message.contains("cut short") } == true, "\(partial.problems)")
        XCTAssertTrue(byFile["debug-rank0.h5"]?.contains { $0.message.contains("cannot be read") } == true, "\(partial.problems)")
        XCTAssertNotNil(byFile["eval.h5"])
        XCTAssertTrue(partial.figures.contains { $0.kind == .training && $0.key == "loss" }, "the intact lines still plot")
        for problem in partial.problems {
            XCTAssertTrue(partial.html.contains(HTMLPage.escape(problem.message)), "listed on the page: \(problem)")
        }
        let check = try HeadlessChromium.check(partial.html)
        XCTAssertEqual(check.errors, [])
        XCTAssertTrue(check.text.contains("Missing or unreadable (\(partial.problems.count))"))
    }

    func testEmptyAndAbsentRunDirectories() throws {
        let empty = Executables.temporaryDirectory("report-empty")
        let report = try RunReport(runDirectory: empty)
        XCTAssertEqual(Set(report.problems.map(\.file)), ["configuration.json", "metrics.jsonl", "eval.h5"])
        XCTAssertTrue(report.figures.isEmpty)
        XCTAssertThrowsError(try RunReport(runDirectory: empty.appendingPathComponent("nope"))) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }

    /// Live mode follows a run in progress: the page reloads itself and is regenerated as the
    /// run writes; on a finished run it writes the final page (no reload) and stops.
    func testLiveModeFollowsARunInProgress() throws {
        let directory = Executables.temporaryDirectory("report-live").appendingPathComponent("run")
        let running = try Self.startLongRun(in: directory)
        defer { kill(running.process.processIdentifier, SIGKILL); _ = running.finish() }
        let metrics = directory.appendingPathComponent("metrics.jsonl")
        let started = Date()
        while !FileManager.default.fileExists(atPath: metrics.path) && Date().timeIntervalSince(started) < 120 { usleep(100_000) }

        let output = directory.deletingLastPathComponent().appendingPathComponent("live.html")
        let figures = directory.deletingLastPathComponent().appendingPathComponent("figures")
        var logs: [String] = []
        let deadline = Date().addingTimeInterval(120)
        // At least three updates, and on until one has read the debug dump (its first records may
        // come after the first summaries on a busy machine).
        func pageShowsMemory() -> Bool { (try? String(contentsOf: output, encoding: .utf8))?.contains("data-key=\"memory\"") ?? false }
        let updates = try LiveReport(runDirectory: directory, output: output, figureDirectory: figures, interval: 0.5)
            .run(maxUpdates: 200, shouldStop: { Date() > deadline || (logs.count >= 3 && pageShowsMemory()) }, log: { logs.append($0) })
        XCTAssertGreaterThanOrEqual(updates, 3, "\(logs)")
        let html = try String(contentsOf: output, encoding: .utf8)
        XCTAssertTrue(html.contains("<meta http-equiv=\"refresh\" content=\"1\">"))
        XCTAssertTrue(html.contains("Live report: regenerated at"))
        XCTAssertTrue(html.contains("status live"))
        XCTAssertTrue(html.contains("data-key=\"memory\""), "the debug dump is read while the run writes it")
        XCTAssertTrue(FileManager.default.fileExists(atPath: figures.appendingPathComponent("training-loss.svg").path))

        let finished = try trainedRun("dense", Self.denseArguments)
        let finalPage = Executables.temporaryDirectory("report-live-final").appendingPathComponent("report.html")
        let count = try LiveReport(runDirectory: finished, output: finalPage, interval: 0.5).run(maxUpdates: 5, log: { _ in })
        XCTAssertEqual(count, 1, "a finished run gets one final report")
        let finalHTML = try String(contentsOf: finalPage, encoding: .utf8)
        XCTAssertFalse(finalHTML.contains("http-equiv=\"refresh\""))
        XCTAssertTrue(finalHTML.contains("this is the final report"))
    }

    /// `dnc-dist report` end to end, once the subcommand is registered in `DNCDist`.
    func testCommandLine() throws {
        let help = try Executables.run("dnc-dist", ["--help"])
        guard help.output.contains("report") else {
            throw XCTSkip("'report' is not among dnc-dist's subcommands yet (register Report in DNCDist.swift)")
        }
        let run = try trainedRun("dense", Self.denseArguments)
        let out = Executables.temporaryDirectory("report-cli")
        let result = try Executables.run("dnc-dist", ["report", run.path, "-o", out.appendingPathComponent("r.html").path,
                                                      "--figures", out.appendingPathComponent("png").path, "--steps", "20,60"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("wrote "), result.output)
        // --figures DIR gets the figures as SVG files.
        let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("png").path)
        XCTAssertTrue(files.contains("rank0-step00000020-layer0-memory.svg"))
        XCTAssertFalse(files.contains("rank0-step00000040-layer0-memory.svg"), "--steps 20,60 leaves step 40 out")
        let bad = try Executables.run("dnc-dist", ["report", run.path, "--steps", "twenty"])
        XCTAssertEqual(bad.status, 2)
        let absent = try Executables.run("dnc-dist", ["report", out.appendingPathComponent("no-such-run").path])
        XCTAssertEqual(absent.status, 2)
        XCTAssertTrue(absent.error.contains("does not exist"), absent.error)
    }
}

import ArgumentParser
import DNCReports
import Foundation

/// `dnc-dist report RUN_DIR`: one self-contained HTML page of a run (and figure files with `--figures`).
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report of a run directory: curves and memory heatmaps.",
        discussion: """
        The page (default RUN_DIR/report.html) has the training curves from metrics.jsonl, the \
        generalisation curves from eval*.h5, and heatmaps of every debug tensor (memory, link \
        matrix, weightings, usage, gates, read positions…) of selected steps from each \
        debug-rank<r>.h5. It needs no server or network: images are embedded. Missing or \
        damaged files are listed at the top. --figures DIR also writes every figure as a standalone SVG file (--png DIR, the old spelling, too). \
        --live regenerates the page every --interval seconds while the run goes on (the page \
        reloads itself) and stops when the run has finished.
        """)

    @Argument(help: "Run directory (written by dnc-dist train --run-dir).")
    var runDirectory: String

    @Option(name: [.short, .long], help: "HTML file to write (default: RUN_DIR/report.html).")
    var output: String?

    @Option(name: [.customLong("figures"), .customLong("png")],
            help: "Also write every figure as a standalone SVG file into this directory (--png: the old spelling).")
    var figures: String?

    @Option(help: "Debug steps to show: 'all', 'spread:N' (N steps spread evenly, first and last included), or a list like 100,200.")
    var steps = "spread:3"

    @Option(name: .customLong("max-snapshots"), help: "Time steps shown for memory and link matrix snapshots.")
    var maxSnapshots = 16

    @Flag(help: "Regenerate the report periodically while the run goes on; stops when the run has finished.")
    var live = false

    @Option(help: "Seconds between regenerations with --live.")
    var interval: Double = 30

    @Option(help: "With --live: stop after this many regenerations.")
    var updates: Int?

    func validate() throws {
        _ = try parsedSteps()
        guard maxSnapshots >= 1 else { throw ValidationError("--max-snapshots must be at least 1, got \(maxSnapshots)") }
        guard interval > 0 else { throw ValidationError("--interval must be positive, got \(interval)") }
        if let updates, updates < 1 { throw ValidationError("--updates must be at least 1, got \(updates)") }
    }

    func parsedSteps() throws -> StepSelection {
        do { return try StepSelection(parsing: steps) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        var options = ReportOptions(steps: try parsedSteps())
        options.debug.maxSnapshots = maxSnapshots
        let outputURL = output.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("report.html")
        let figuresURL = figures.map { URL(fileURLWithPath: $0, isDirectory: true) }
        if live {
            let liveReport = LiveReport(runDirectory: directory, output: outputURL, figureDirectory: figuresURL, options: options,
                                        interval: interval)
            try liveReport.run(maxUpdates: updates)
            return
        }
        let report = try RunReport(runDirectory: directory, options: options)
        try report.writeHTML(to: outputURL)
        print("wrote \(outputURL.path): \(report.figures.count) figures")
        if let figuresURL {
            let files = try report.writeFigures(to: figuresURL)
            print("wrote \(files.count) SVG figure files to \(figuresURL.path)")
        }
        for problem in report.problems { print("  missing or unreadable: \(problem)") }
    }
}

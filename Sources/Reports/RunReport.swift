import Foundation

/// The report of a run directory: one self-contained HTML page (training curves, generalisation
/// curves, heatmaps of every debug tensor at selected steps for each rank, all as inline SVG)
/// and the same figures as SVG files. Missing or damaged files never stop a report: they are
/// listed at the top.
public struct RunReport {
    public let runDirectory: URL
    public let html: String
    /// The page's `<body>` content alone (what `dnc-dist serve` puts in its own page).
    public let body: String
    public let figures: [ReportFigure]
    public let problems: [ReportProblem]
    /// The run looks finished: generalisation written and the last summary at the configured
    /// number of iterations.
    public let finished: Bool
    /// The last step in `metrics.jsonl`.
    public let lastStep: Int?
    /// The summaries of `metrics.jsonl` the training curves were drawn from.
    public let metrics: MetricsHistory

    /// Reads the run directory and renders everything. Throws only when `runDirectory` is not
    /// a directory.
    public init(runDirectory: URL, options: ReportOptions = ReportOptions(), now: Date = Date()) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError("run directory '\(runDirectory.path)' does not exist or is not a directory")
        }
        var builder = Builder(run: RunDirectory(runDirectory), options: options)
        builder.build(now: now)
        self.runDirectory = runDirectory
        html = builder.page
        body = builder.body
        figures = builder.figures
        problems = builder.problems
        finished = builder.finished
        lastStep = builder.metrics.lastStep
        metrics = builder.metrics
    }

    /// Writes the page atomically (a browser refreshing during a live run never sees half a page).
    public func writeHTML(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(html.utf8).write(to: url, options: .atomic)
    }

    /// Writes every figure as a standalone `<directory>/<id>.svg` (heatmap cells embedded as
    /// PNG), atomically; returns the files.
    @discardableResult
    public func writeFigures(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try figures.map { figure in
            let url = directory.appendingPathComponent(figure.fileName)
            try Data(figure.drawing.document.utf8).write(to: url, options: .atomic)
            return url
        }
    }
}

/// Assembles the page section by section.
private struct Builder {
    let run: RunDirectory
    let options: ReportOptions
    var figures: [ReportFigure] = []
    var problems: [ReportProblem] = []
    var sections: [String] = []
    var contents: [(id: String, title: String)] = []
    var configuration: [String: Any] = [:]
    var metrics = MetricsHistory(records: [])
    var finished = false
    var body = ""
    var page = ""

    init(run: RunDirectory, options: ReportOptions) {
        self.run = run
        self.options = options
    }

    var memoryType: String? { configuration["memory_type"] as? String }

    mutating func build(now: Date) {
        readConfiguration()
        metrics = MetricsHistory(contentsOf: run.metrics)
        problems += metrics.problems
        trainingSection()
        generalisationSection()
        debugSections()
        configurationSection()

        let name = run.url.standardizedFileURL.lastPathComponent
        let iterations = (configuration["iterations"] as? NSNumber)?.intValue
        let lastStep = metrics.lastStep
        let hasEvaluation = FileManager.default.fileExists(atPath: run.evaluation.path)
        finished = hasEvaluation && (iterations == nil || lastStep == nil || lastStep! >= iterations!)
        var status: String
        if finished {
            status = "<span class=\"status done\">finished</span>"
        } else {
            let where_ = lastStep.map { "last summary at step \($0)" } ?? "no summary yet"
            status = "<span class=\"status partial\">incomplete: \(where_)\(iterations.map { " of \($0)" } ?? "")</span>"
        }
        if let refresh = options.refreshSeconds {
            status += " <span class=\"status live\">live: reloads every \(refresh) s</span>"
        } else if options.followsRun && !finished {
            status += " <span class=\"status live\">live: updated as the run writes its files</span>"
        }
        var facts: [String] = []
        if let task = configuration["task"] as? String { facts.append("task <code>\(HTMLPage.escape(task))</code>") }
        if let memory = memoryType { facts.append("memory <code>\(HTMLPage.escape(memory))</code>") }
        for key in ["nhid", "mem_slot", "mem_size", "read_heads", "batch_size", "iterations"] {
            if let value = configuration[key] { facts.append("\(key) \(HTMLPage.escape(Self.text(value)))") }
        }

        var body = "<header>\n<h1>Run report: \(HTMLPage.escape(name))</h1>\n"
        body += "<p class=\"meta\">\(status) · <code>\(HTMLPage.escape(run.url.standardizedFileURL.path))</code></p>\n"
        if !facts.isEmpty { body += "<p class=\"meta\">\(facts.joined(separator: " · "))</p>\n" }
        if let banner = options.banner { body += "<p class=\"meta\">\(HTMLPage.escape(banner))</p>\n" }
        body += "</header>\n"
        if !problems.isEmpty {
            body += "<section class=\"problems\" id=\"problems\">\n<h2>Missing or unreadable (\(problems.count))</h2>\n<ul>\n"
            for problem in problems {
                body += "<li><code>\(HTMLPage.escape(problem.file))</code>: \(HTMLPage.escape(problem.message))</li>\n"
            }
            body += "</ul>\n</section>\n"
        }
        body += "<nav><ul>\n" + contents.map { "<li><a href=\"#\($0.id)\">\(HTMLPage.escape($0.title))</a></li>" }.joined(separator: "\n")
            + "\n</ul></nav>\n"
        body += sections.joined(separator: "\n")
        let stamp = ISO8601DateFormatter().string(from: now)
        body += "\n<footer>Generated by <code>dnc-dist report</code> at \(stamp) from <code>\(HTMLPage.escape(run.url.standardizedFileURL.path))</code>; "
            + "\(figures.count) figures, colour scale viridis (dark purple = minimum, yellow = maximum), magenta = NaN/inf.</footer>"
        self.body = body
        page = HTMLPage.document(title: "dnc-dist report: \(name)", body: body, refreshSeconds: options.refreshSeconds)
    }

    static func text(_ value: Any) -> String {
        if let array = value as? [Any] { return array.map(text).joined(separator: ",") }
        if let number = value as? NSNumber { return number.stringValue }
        return "\(value)"
    }

    mutating func readConfiguration() {
        guard let data = FileManager.default.contents(atPath: run.configuration.path) else {
            problems.append(ReportProblem(file: "configuration.json", "missing: run settings unknown"))
            return
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            problems.append(ReportProblem(file: "configuration.json", "not a JSON object (cut short?)"))
            return
        }
        configuration = object
    }

    // MARK: Training curves

    mutating func trainingSection() {
        contents.append(("training", "Training curves"))
        var html = "<section id=\"training\">\n<h2>Training curves</h2>\n"
        guard !metrics.records.isEmpty else {
            sections.append(html + "<p class=\"note\">No training summaries to plot (see above).</p>\n</section>")
            return
        }
        let titles: [String: String] = [
            "loss": "loss", "bit_errors": "bit errors per sequence", "sequences_per_second": "sequences / s",
            "max_length": "curriculum level (max_length)", "masked_bit_accuracy": "masked bit accuracy",
            "unmasked_bit_accuracy": "unmasked bit accuracy", "lr": "learning rate", "gradient_norm": "gradient norm",
            "skipped_steps": "skipped steps",
        ]
        let main = ["loss", "bit_errors", "sequences_per_second", "max_length"]
        let available = Set(metrics.keys)
        let others = metrics.keys.filter { !main.contains($0) && $0 != "step" && $0 != "time" }
        let absent = main.filter { !available.contains($0) }
        html += "<p class=\"note\">\(metrics.records.count) summaries from <code>metrics.jsonl</code>, steps "
            + "\(Int(metrics.records.first?["step"] ?? 0))–\(metrics.lastStep ?? 0).\(absent.isEmpty ? "" : " Not logged by this run: \(absent.joined(separator: ", ")).")</p>\n"
        html += "<div class=\"grid\">\n"
        for key in main.filter(available.contains) + others {
            let points = metrics.series(key)
            let title = titles[key] ?? key
            let scale: LineChart.YScale = ["loss", "gradient_norm", "lr"].contains(key) ? .automatic : .linear
            let last = points.last.map { ["last: \(AxisTicks.label($0.y, digits: 4)) at step \(Int($0.x))"] } ?? []
            // Noisy curves get a moving mean over about 1/25 of the run (odd, at least 5 points).
            let window = points.count > 40 ? max(5, (points.count / 25) | 1) : 1
            let smoothing = ["loss", "bit_errors", "sequences_per_second", "masked_bit_accuracy", "unmasked_bit_accuracy",
                             "gradient_norm"].contains(key) || !titles.keys.contains(key) ? window : 1
            let chart = LineChart(title: title, notes: last, xLabel: "step",
                                  series: [.init(name: key, points: points, smoothing: smoothing)], yScale: scale)
            let figure = ReportFigure(id: "training-\(Self.safe(key))", kind: .training, key: key, title: "\(title) against step",
                                      drawing: LineChartRenderer.render(chart).drawing)
            figures.append(figure)
            html += figure.html() + "\n"
        }
        sections.append(html + "</div>\n</section>")
    }

    // MARK: Generalisation

    mutating func generalisationSection() {
        contents.append(("generalisation", "Generalisation"))
        var html = "<section id=\"generalisation\">\n<h2>Generalisation: metric against sequence length</h2>\n"
        let files = EvaluationResults.files(in: run.url)
        var results: [EvaluationResults] = [], babi: [BabiEvaluationResults] = []
        for url in files {
            do {
                switch try EvaluationFile(contentsOf: url) {
                case .lengths(let r): results.append(r)
                case .babi(let r): babi.append(r)
                }
            } catch {
                problems.append(ReportProblem(file: url.lastPathComponent, "cannot be read: \(error)"))
            }
        }
        if !files.contains(where: { $0.lastPathComponent == "eval.h5" }) {
            if options.refreshSeconds != nil || options.followsRun {
                // Live: the run is still going, and writes eval.h5 when it ends; nothing is wrong.
                html += "<p>eval.h5, the end-of-training curve, is written when training ends.</p>\n"
            } else {
                problems.append(ReportProblem(file: "eval.h5", "missing: no end-of-training generalisation curve (the run was stopped before the end, or is still going)"))
            }
        }
        if !babi.isEmpty {
            // bAbI: the error per task (docs/tasks.md, bAbI), not a curve over lengths.
            html = html.replacingOccurrences(of: "Generalisation: metric against sequence length", with: "Question answering: error per bAbI task")
            sections.append(html + babiEvaluation(babi) + "</section>")
            return
        }
        guard !results.isEmpty else {
            sections.append(html + "<p class=\"note\">No evaluation results to plot.</p>\n</section>")
            return
        }
        html += "<p class=\"note\">From \(results.map { "<code>\(HTMLPage.escape($0.name))</code>" }.joined(separator: ", ")): "
            + "the model in inference mode at fixed sequence lengths.</p>\n<div class=\"grid\">\n"
        var keys = Array(Set(results.flatMap { $0.metrics.keys })).sorted()
        if let loss = keys.firstIndex(of: "loss") { keys.remove(at: loss); keys.append("loss") }
        for key in keys {
            let series = results.compactMap { r in
                r.metrics[key].map { LineChart.Series(name: r.name, points: Array(zip(r.lengths, $0)).map { ($0.0, $0.1) }) }
            }
            let chart = LineChart(title: key.replacingOccurrences(of: "_", with: " "), xLabel: "sequence length", series: series,
                                  yScale: key == "loss" ? .automatic : .linear)
            let figure = ReportFigure(id: "generalisation-\(Self.safe(key))", kind: .generalisation, key: key,
                                      title: "\(key) against sequence length", drawing: LineChartRenderer.render(chart).drawing)
            figures.append(figure)
            html += figure.html() + "\n"
        }
        sections.append(html + "</div>\n</section>")
    }

    /// bAbI's evaluation files as a table (one row per task, one error column per file, the mean
    /// and the failed tasks below) and a chart of the error against the task number.
    mutating func babiEvaluation(_ results: [BabiEvaluationResults]) -> String {
        func percent(_ fraction: Double) -> String { String(format: "%.2f", 100 * fraction) }
        func label(_ r: BabiEvaluationResults) -> String { r.split.isEmpty ? r.name : "\(r.name) (\(r.split))" }
        var html = "<p class=\"note\">From \(results.map { "<code>\(HTMLPage.escape($0.name))</code>" }.joined(separator: ", ")): "
            + "the share of wrong answers per task, in %; a task fails above 5 %.</p>\n"
        html += "<table class=\"babi\">\n<tr><th>task</th>"
            + results.map { "<th>\(HTMLPage.escape(label($0)))</th>" }.joined() + "</tr>\n"
        for task in Array(Set(results.flatMap(\.tasks))).sorted() {
            html += "<tr><td>\(task)</td>" + results.map { r in
                guard let i = r.tasks.firstIndex(of: task) else { return "<td></td>" }
                return "<td>\(percent(r.errors[i]))\(r.errors[i] > 0.05 ? " (failed)" : "")</td>"
            }.joined() + "</tr>\n"
        }
        html += "<tr><td>mean</td>" + results.map { "<td>\(percent($0.meanError))</td>" }.joined() + "</tr>\n"
        html += "<tr><td>failed tasks</td>" + results.map { "<td>\($0.failedTasks) of \($0.tasks.count)</td>" }.joined()
            + "</tr>\n</table>\n<div class=\"grid\">\n"
        let series = results.map { r in
            LineChart.Series(name: label(r), points: zip(r.tasks, r.errors).map { (Double($0.0), 100 * $0.1) })
        }
        let chart = LineChart(title: "error % per bAbI task", xLabel: "bAbI task", series: series, yScale: .linear)
        let figure = ReportFigure(id: "generalisation-babi-error", kind: .generalisation, key: "babi_error_percent",
                                  title: "error % per bAbI task", drawing: LineChartRenderer.render(chart).drawing)
        figures.append(figure)
        return html + figure.html() + "\n</div>\n"
    }

    // MARK: Debug heatmaps

    mutating func debugSections() {
        let files = run.debugFiles
        let debugOn = (configuration["debug"] as? Bool) ?? (configuration["visdom"] as? Bool) ?? false
        if files.isEmpty {
            contents.append(("memory", "Memory heatmaps"))
            var note = "No <code>debug-rank*.h5</code> files: "
            if debugOn {
                note += "the run was configured with <code>-debug</code> but wrote none (stopped before its first summary?)."
                problems.append(ReportProblem(file: "debug-rank0.h5", "missing although the run has debug on: no memory heatmaps"))
            } else {
                note += "run with <code>-debug</code> (or <code>-visdom</code>) to dump the memory every <code>-summarize_freq</code> steps."
            }
            sections.append("<section id=\"memory\">\n<h2>Memory heatmaps</h2>\n<p class=\"note\">\(note)</p>\n</section>")
            return
        }
        for url in files {
            let rank = DebugDump.rank(fromFileName: url.lastPathComponent) ?? 0
            let id = "memory-rank\(rank)"
            contents.append((id, "Memory heatmaps, rank \(rank)"))
            var html = "<section id=\"\(id)\">\n<h2>Memory heatmaps, rank \(rank) (<code>\(HTMLPage.escape(url.lastPathComponent))</code>)</h2>\n"
            let dump: DebugDump
            do { dump = try DebugDump(contentsOf: url) } catch {
                problems.append(ReportProblem(file: url.lastPathComponent, "cannot be read (damaged by a killed run, or caught mid-write by a running one): \(error)"))
                sections.append(html + "<p class=\"note\">This file cannot be read; see the list at the top.</p>\n</section>")
                continue
            }
            problems += dump.problems
            let steps = dump.steps
            guard !steps.isEmpty else {
                if memoryType == "none" {
                    html += "<p class=\"note\">No memory tensors: this run's model is the controller alone (<code>-memory_type none</code>).</p>\n"
                } else {
                    html += "<p class=\"note\">No dumped steps yet.</p>\n"
                    problems.append(ReportProblem(file: url.lastPathComponent, "holds no dumped steps (stopped before its first summary?)"))
                }
                sections.append(html + "</section>")
                continue
            }
            let (selected, absent) = options.steps.select(from: steps)
            if !absent.isEmpty {
                problems.append(ReportProblem(file: url.lastPathComponent, "requested steps not dumped: \(absent.map(String.init).joined(separator: ", "))"))
            }
            let element = dump.entries.first?.batchElement.map { ", batch element \($0)" } ?? ""
            if dump.readFromSnapshot { html += "<p class=\"note\">The run is writing this file: read from a snapshot copy.</p>\n" }
            html += "<p class=\"note\">Dumped steps: \(Self.list(steps))\(element). Shown: \(Self.list(selected))"
                + "\(selected.count < steps.count ? " (choose with <code>--steps</code>)" : ""). Keys: \(dump.keys.map { "<code>\($0)</code>" }.joined(separator: ", ")).</p>\n"
            let layersPerStep = Set(dump.entries.map(\.layer)).count
            for step in selected {
                html += "<h3 id=\"\(id)-step\(step)\">Step \(step)</h3>\n"
                let entries = dump.entries.filter { $0.step == step }
                for layer in Array(Set(entries.map(\.layer))).sorted() {
                    if layersPerStep > 1 { html += "<h4>layer \(layer)</h4>\n" }
                    html += "<div class=\"grid\">\n"
                    let layerEntries = entries.filter { $0.layer == layer }
                    for key in DebugKeyOrder.sorted(layerEntries.map(\.key)) {
                        let entry = layerEntries.first { $0.key == key }!
                        let figureID = "rank\(rank)-step\(Self.padded(step))-layer\(layer)-\(Self.safe(key))"
                        do {
                            let tensor = try dump.tensor(entry)
                            let context = "step \(step) · layer \(layer) · rank \(rank)"
                            let heatmap = DebugFigures.figure(tensor, context: context, options: options.debug)
                            let figure = ReportFigure(id: figureID, kind: .debug, key: key, title: "\(key), \(context)",
                                                      rank: rank, step: step, layer: layer,
                                                      caption: heatmap.notes.isEmpty ? nil : "\(key): " + heatmap.notes.joined(separator: "; "),
                                                      drawing: HeatmapRenderer.render(heatmap).drawing)
                            figures.append(figure)
                            html += figure.html() + "\n"
                        } catch {
                            problems.append(ReportProblem(file: url.lastPathComponent, "\(entry.path) cannot be read: \(error)"))
                            html += "<figure class=\"missing\" data-figure=\"debug\" data-key=\"\(HTMLPage.escape(key))\" data-rank=\"\(rank)\" "
                                + "data-step=\"\(step)\" data-layer=\"\(layer)\">\(HTMLPage.escape(key)): cannot be read</figure>\n"
                        }
                    }
                    html += "</div>\n"
                }
            }
            sections.append(html + "</section>")
        }
    }

    // MARK: Configuration

    mutating func configurationSection() {
        guard !configuration.isEmpty else { return }
        contents.append(("configuration", "Configuration"))
        var html = "<section id=\"configuration\">\n<h2>Configuration</h2>\n<details><summary><code>configuration.json</code> (\(configuration.count) fields)</summary>\n<table>\n"
        for key in configuration.keys.sorted() {
            html += "<tr><th><code>\(HTMLPage.escape(key))</code></th><td>\(HTMLPage.escape(Self.text(configuration[key]!)))</td></tr>\n"
        }
        sections.append(html + "</table>\n</details>\n</section>")
    }

    // MARK: Helpers

    static func safe(_ key: String) -> String {
        String(key.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
    }

    static func padded(_ step: Int) -> String {
        let digits = String(step)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func list(_ steps: [Int]) -> String {
        steps.count <= 12 ? steps.map(String.init).joined(separator: ", ")
            : steps.prefix(5).map(String.init).joined(separator: ", ") + ", …, " + steps.suffix(3).map(String.init).joined(separator: ", ")
                + " (\(steps.count) steps)"
    }
}

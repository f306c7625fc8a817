import Foundation

/// Regenerates a report while a run is going, so that the page (which reloads itself) follows
/// training: every `interval` seconds, when a file of the run directory changed, the page and
/// the figure files are rewritten atomically. Stops once the run has finished (the last report no longer
/// reloads), after `maxUpdates` regenerations, or when `shouldStop` says so.
public final class LiveReport {
    public let runDirectory: URL
    public let output: URL
    /// Where the figure files go, if anywhere (`dnc-dist report --figures DIR`).
    public let figureDirectory: URL?
    public let options: ReportOptions
    public let interval: TimeInterval

    public init(runDirectory: URL, output: URL, figureDirectory: URL? = nil, options: ReportOptions = ReportOptions(),
                interval: TimeInterval = 30) {
        self.runDirectory = runDirectory
        self.output = output
        self.figureDirectory = figureDirectory
        self.options = options
        self.interval = max(interval, 0.1)
    }

    /// Runs until the run finishes; returns the number of regenerations.
    @discardableResult
    public func run(maxUpdates: Int? = nil, shouldStop: () -> Bool = { false }, log: (String) -> Void = { print($0) }) throws -> Int {
        var updates = 0
        var lastSignature: [String] = []
        while true {
            let signature = Self.signature(of: runDirectory)
            if signature != lastSignature || updates == 0 {
                lastSignature = signature
                var liveOptions = options
                liveOptions.refreshSeconds = max(Int(interval.rounded(.up)), 1)
                let time = DateFormatter.localizedString(from: Date(), dateStyle: .none, timeStyle: .medium)
                liveOptions.banner = "Live report: regenerated at \(time), checked every \(AxisTicks.label(interval)) s while the run goes on."
                var report = try RunReport(runDirectory: runDirectory, options: liveOptions)
                if report.finished {
                    var finalOptions = options
                    finalOptions.banner = "The run has finished: this is the final report (live updates stopped at \(time))."
                    report = try RunReport(runDirectory: runDirectory, options: finalOptions)
                }
                try report.writeHTML(to: output)
                if let figureDirectory { try report.writeFigures(to: figureDirectory) }
                updates += 1
                let step = report.lastStep.map { "step \($0)" } ?? "no summary yet"
                log("report \(time): \(step), \(report.figures.count) figures, \(report.problems.count) problems → \(output.path)"
                    + (report.finished ? " (run finished; stopping)" : ""))
                if report.finished { return updates }
            }
            if let maxUpdates, updates >= maxUpdates { return updates }
            let deadline = Date().addingTimeInterval(interval)
            while Date() < deadline {
                if shouldStop() { return updates }
                Thread.sleep(forTimeInterval: min(0.2, interval))
            }
            if shouldStop() { return updates }
        }
    }

    /// Names, sizes and modification times of the files a report reads: a change in any of them
    /// (a rename included, since the new file has its own time) changes the signature.
    public static func signature(of directory: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            guard name == "metrics.jsonl" || name == "configuration.json" || name.hasSuffix(".h5") else { return nil }
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(name) \(size) \(modified)"
        }
    }
}

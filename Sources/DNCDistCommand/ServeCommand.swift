import ArgumentParser
import DNCReports
import Foundation
import LiveServer

/// `dnc-dist serve RUN_DIR`: the run's report in the browser, updated as the run writes its
/// files (server-sent events; see LiveServer).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a run directory's report over HTTP, pushing curves and memory figures to the browser as the run writes them.",
        discussion: """
        Open the printed URL: the page is the report of `dnc-dist report` (curves from \
        metrics.jsonl, memory heatmaps from debug-rank<r>.h5, generalisation from eval*.h5), \
        and every change the run writes (checked every --interval seconds) reaches it at once, \
        without reloading. Binds 127.0.0.1 by default; from a cluster, forward the port: \
        ssh -L 8080:127.0.0.1:8080 NODE. Endpoints: / (the page), /events (server-sent events), \
        /figure/<id>.svg, /metrics.json. Ctrl-C (SIGINT) or SIGTERM stops it.
        """)

    @Argument(help: "Run directory (written by dnc-dist train --run-dir).")
    var runDirectory: String

    @Option(help: "Port to listen on, 1–65535, or 0 for any free one (the URL printed says which).")
    var port = 8080

    @Option(help: "Address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface), or an address of this machine.")
    var host = "127.0.0.1"

    @Option(help: "Debug steps to show: 'all', 'spread:N' (N steps spread evenly, first and last included), or a list like 100,200.")
    var steps = "spread:3"

    @Option(help: "Seconds between looks at the run directory's files.")
    var interval: Double = 0.5

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535 (0: any free port), got \(port)") }
        guard !host.isEmpty else { throw ValidationError("--host must be an address of this machine such as 127.0.0.1, got ''") }
        guard interval > 0, interval.isFinite else { throw ValidationError("--interval must be a positive number of seconds, got \(interval)") }
        do { _ = try StepSelection(parsing: steps) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        let options = ReportOptions(steps: try StepSelection(parsing: steps))
        // Bad input is refused before anything is served.
        do {
            try LiveServer.checkRunDirectory(directory)
            try PortCheck.check(host: host, port: port)
        } catch let problem as ServeInputError {
            throw ValidationError(problem.description)
        }
        let outcome = Outcome()
        let (host, port, interval) = (self.host, self.port, self.interval)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let server = await LiveServer(runDirectory: directory, host: host, port: port, interval: interval, options: options,
                                              onStart: { url in Serve.say("serving \(directory.path) at \(url) (Ctrl-C stops)") },
                                              log: { Serve.say($0) })
                try await server.run()
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error {
            // A port taken between the check and the start: still the flag's fault.
            if "\(error)".contains("in use") { throw ValidationError("--port \(port): already in use on \(host); choose another port, or 0 for any free one") }
            throw error
        }
        Serve.say("stopped")
    }

    /// One line on stdout, flushed at once (a log file or a pipe shows it while serving).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// What the server's task ended with, read after it signalled.
    final class Outcome: @unchecked Sendable {
        var error: Error?
    }
}

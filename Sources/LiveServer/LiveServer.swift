import DNCReports
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `dnc-dist serve`: serves the report of a run directory over HTTP and pushes every change
/// the run writes to the browsers as server-sent events.
///
/// - `/`: the page (`LivePage`), the current report with a script that listens to `/events`;
/// - `/events`: the SSE stream (`LiveEvent`), from `?since=<version>` or `Last-Event-ID`;
/// - `/figure/<id>.svg`: one figure as a standalone SVG file;
/// - `/metrics.json`: the summaries of `metrics.jsonl` and the last step.
///
/// Graceful shutdown (SIGINT, SIGTERM, `stop()`) stops the watcher first, which ends the
/// event streams, and then the HTTP server (ServiceGroup shuts its services down last first).
public final class LiveServer: Sendable {
    public let runDirectory: URL
    public let host: String
    public let port: Int
    public let hub: EventHub
    private let group: ServiceGroup

    /// `onStart` gets the URL to open once the server listens (with the port the system chose
    /// for port 0). Expects a checked directory and port (`checkRunDirectory`, `PortCheck`).
    public init(runDirectory: URL, host: String = "127.0.0.1", port: Int, interval: TimeInterval = 0.5,
                options: ReportOptions = ReportOptions(), handlesSignals: Bool = true,
                onStart: @escaping @Sendable (URL) -> Void = { _ in },
                log: @escaping @Sendable (String) -> Void = { _ in }) async {
        self.runDirectory = runDirectory
        self.host = host
        self.port = port
        let hub = EventHub(log: log)
        self.hub = hub
        var watcher = RunWatcher(runDirectory: runDirectory, options: options, interval: interval, hub: hub, log: log)
        watcher.initialSignature = await watcher.publishNow()

        var logger = Logger(label: "dnc-dist serve")
        logger.logLevel = .warning
        let name = runDirectory.standardizedFileURL.lastPathComponent
        let router = Router()
        router.get("/") { _, _ in
            let page = LivePage.html(snapshot: await hub.snapshot, version: await hub.version, runName: name)
            return LiveServer.response(page, type: "text/html; charset=utf-8")
        }
        router.get("/events") { request, _ in
            let since = request.headers.first { $0.name.canonicalName == "last-event-id" }.flatMap { Int($0.value) }
                ?? request.uri.queryParameters["since"].flatMap { Int($0) }
            let stream = await hub.subscribe(since: since)
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                for await text in stream { try await writer.write(ByteBuffer(string: text)) }
                try await writer.finish(nil)
            })
        }
        router.get("/figure/:file") { _, context in
            let file = context.parameters.get("file") ?? ""
            guard file.hasSuffix(".svg"), let figure = await hub.snapshot?.figure(String(file.dropLast(4))) else {
                return LiveServer.response("no figure '\(file)' in this run's report\n", type: "text/plain; charset=utf-8", status: .notFound)
            }
            return LiveServer.response(figure.svg, type: "image/svg+xml")
        }
        router.get("/metrics.json") { _, _ in
            let snapshot = await hub.snapshot
            let records = (snapshot?.metrics ?? []).map { record in record.mapValues { $0.isFinite ? $0 as Any : NSNull() } }
            let object: [String: Any] = ["version": await hub.version, "lastStep": snapshot?.lastStep.map { $0 as Any } ?? NSNull(),
                                         "records": records]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            return LiveServer.response(String(decoding: data, as: UTF8.self), type: "application/json")
        }

        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                let shownHost = host.contains(":") ? "[\(host)]" : host
                onStart(URL(string: "http://\(shownHost):\(bound)/")!)
            },
            logger: logger)
        var configuration = ServiceGroupConfiguration(services: [app, watcher],
                                                      gracefulShutdownSignals: handlesSignals ? [.sigterm, .sigint] : [],
                                                      logger: logger)
        // Should a connection hold the shutdown up all the same, it is cancelled after this.
        configuration.maximumGracefulShutdownDuration = .seconds(5)
        configuration.maximumCancellationDuration = .seconds(5)
        group = ServiceGroup(configuration: configuration)
    }

    /// Serves until SIGINT or SIGTERM (when handled) or `stop()`.
    public func run() async throws {
        try await group.run()
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
    }

    static func response(_ text: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The directory exists and holds something a `dnc-dist train --run-dir` run writes.
    public static func checkRunDirectory(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServeInputError("RUN_DIR '\(url.path)': no such directory; give the directory of dnc-dist train --run-dir")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        guard names.contains(where: { ["configuration.json", "metrics.jsonl", "checkpoints"].contains($0) || $0.hasPrefix("debug-rank") }) else {
            throw ServeInputError("RUN_DIR '\(url.path)': not a run directory (no configuration.json, metrics.jsonl, "
                                    + "checkpoints or debug-rank*.h5); give the directory of dnc-dist train --run-dir")
        }
    }
}

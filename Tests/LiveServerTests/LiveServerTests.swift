import DNCReports
import Foundation
import LiveServer
import TestSupport
import XCTest

/// A small run directory written by hand (configuration and summaries, no HDF5), served by an
/// in-process `LiveServer` on a port the system chooses; the browser's side is a plain socket.
final class LiveServerTests: XCTestCase {
    struct Event {
        let name: String
        let data: [String: Any]
    }

    func makeRun(steps: [Int]) throws -> URL {
        let directory = Executables.temporaryDirectory("serve-unit")
        try #"{"task": "copy", "iterations": 100, "memory_type": "dnc"}"#.write(
            to: directory.appendingPathComponent("configuration.json"), atomically: true, encoding: .utf8)
        try steps.map(Self.summary).joined().write(to: directory.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        return directory
    }

    static func summary(_ step: Int) -> String {
        "{\"step\": \(step), \"loss\": \(1.0 / Double(step)), \"bit_errors\": \(100 - step)}\n"
    }

    func append(_ text: String, to run: URL) throws {
        let handle = try FileHandle(forWritingTo: run.appendingPathComponent("metrics.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// The events in what an `/events` response has received so far (complete ones only).
    static func events(in raw: String) -> [Event] {
        guard let split = raw.range(of: "\r\n\r\n") else { return [] }
        let text = SocketClient.dechunk(String(raw[split.upperBound...]))
        var events: [Event] = []
        for block in text.components(separatedBy: "\n\n").dropLast() {
            var name = "message", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            guard !data.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else { continue }
            events.append(Event(name: name, data: object))
        }
        return events
    }

    /// Starts a server on the run; returns it and its port once it listens.
    func startServer(_ run: URL, interval: TimeInterval = 0.1) async throws -> (LiveServer, Int, Task<Void, Error>) {
        let started = AsyncStream<URL>.makeStream()
        let server = await LiveServer(runDirectory: run, port: 0, interval: interval, handlesSignals: false,
                                      onStart: { started.continuation.yield($0) })
        let task = Task { try await server.run() }
        var iterator = started.stream.makeAsyncIterator()
        guard let url = await iterator.next(), let port = url.port, port > 0 else { throw SocketClient.Failure(description: "no URL") }
        return (server, port, task)
    }

    /// Stops the server and checks that it stops promptly with browsers still connected.
    func stop(_ server: LiveServer, _ task: Task<Void, Error>) async throws {
        await server.stop()
        // Stopped within 3 s (the server's own limit before it cancels a shutdown is 5 s).
        let watchdog = Task {
            try await Task.sleep(nanoseconds: 3_000_000_000)
            task.cancel()
        }
        let stopped: Result<Void, Error> = await task.result
        let inTime = !watchdog.isCancelled && !task.isCancelled
        watchdog.cancel()
        XCTAssertTrue(inTime, "graceful shutdown waited on the event streams for 3 s")
        try stopped.get()
    }

    // MARK: Change detection

    func testChangesCarryOnlyWhatChanged() throws {
        let run = try makeRun(steps: [10, 20])
        let first = try LiveSnapshot.read(run, options: ReportOptions())
        XCTAssertEqual(first.lastStep, 20)
        XCTAssertFalse(first.unsettled)
        XCTAssertEqual(Set(first.figures.map(\.id)), ["training-loss", "training-bit_errors"])
        // The skeleton holds a placeholder, not the drawing, of every figure.
        for figure in first.figures {
            XCTAssertTrue(first.skeleton.contains("<figure id=\"fig-\(figure.id)\" data-placeholder=\"\"></figure>"))
            XCTAssertFalse(first.skeleton.contains(figure.html))
            XCTAssertTrue(first.body.contains(figure.html))
        }

        XCTAssertEqual(LiveEvent.changes(from: first, to: first, version: 2), [], "nothing changed, nothing sent")

        try append(Self.summary(30), to: run)
        let second = try LiveSnapshot.read(run, options: ReportOptions())
        let events = LiveEvent.changes(from: first, to: second, version: 2)
        XCTAssertEqual(events.map(\.name).filter { $0 != "figure" }, ["layout", "metrics", "status"])
        XCTAssertEqual(Set(events.compactMap { if case .figure(_, let id, _, _, _) = $0 { return id } else { return nil } }),
                       ["training-loss", "training-bit_errors"], "both curves gained a point")
        guard case .metrics(2, let points, let reset)? = events.first(where: { $0.name == "metrics" }) else {
            return XCTFail("no metrics event: \(events.map(\.name))")
        }
        XCTAssertEqual(points.map { $0["step"] }, [30], "only the appended summary")
        XCTAssertFalse(reset)
        guard case .status(2, let lastStep, let summaries, false, _)? = events.last else { return XCTFail("no status event last") }
        XCTAssertEqual(lastStep, 30)
        XCTAssertEqual(summaries, 3)

        // A rewritten (not appended) file sends every summary again.
        try [5, 6].map(Self.summary).joined().write(to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        let rewritten = try LiveSnapshot.read(run, options: ReportOptions())
        guard case .metrics(_, let all, true)? = LiveEvent.changes(from: second, to: rewritten, version: 3).first(where: { $0.name == "metrics" })
        else { return XCTFail("no reset metrics event") }
        XCTAssertEqual(all.map { $0["step"] }, [5, 6])

        // A summary line cut short is a file caught mid-write.
        try append("{\"step\": 7, \"lo", to: run)
        XCTAssertTrue(try LiveSnapshot.read(run, options: ReportOptions()).unsettled)
    }

    func testServerSentEventIsOneEventOnTheWire() {
        // A line break inside the data would end the event early.
        let wire = LiveEvent.layout(version: 4, skeleton: "<p>a\n\nb</p>").serverSentEvent
        XCTAssertEqual(wire.components(separatedBy: "\n\n").count, 2, wire)
        let events = Self.events(in: "HTTP/1.1 200 OK\r\n\r\n" + "\(String(wire.utf8.count, radix: 16))\r\n\(wire)\r\n")
        XCTAssertEqual(events.map(\.name), ["layout"])
        XCTAssertEqual(events.first?.data["skeleton"] as? String, "<p>a\n\nb</p>")
        XCTAssertEqual((events.first?.data["version"] as? NSNumber)?.intValue, 4)
        let metrics = LiveEvent.metrics(version: 1, points: [["step": 3, "loss": .nan]], reset: false).json
        XCTAssertTrue(metrics.contains("\"loss\":null"), metrics)
    }

    // MARK: The event stream

    func testAppendedSummaryIsPushedToAConnectedBrowser() async throws {
        let run = try makeRun(steps: [10, 20])
        let (server, port, task) = try await startServer(run)
        let version = await server.hub.version
        let stream = try SocketClient(port: port, request: "GET /events?since=\(version) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertTrue(stream.read(until: { $0.contains("retry: 2000") }, timeout: 10), "stream opened: \(stream.received.prefix(300))")
        XCTAssertTrue(stream.received.lowercased().contains("content-type: text/event-stream"))
        XCTAssertEqual(Self.events(in: stream.received).count, 0, "a browser showing the current version gets nothing more")
        let connected = await server.hub.subscriberCount
        XCTAssertEqual(connected, 1)

        try append(Self.summary(40), to: run)
        let arrived = stream.read(until: { Self.events(in: $0).contains { $0.name == "status" } }, timeout: 10)
        XCTAssertTrue(arrived, "no status event within 10 s of the append: \(stream.received.suffix(500))")
        let events = Self.events(in: stream.received)
        let metrics = events.first { $0.name == "metrics" }
        XCTAssertEqual((metrics?.data["points"] as? [[String: Any]])?.compactMap { ($0["step"] as? NSNumber)?.intValue }, [40])
        XCTAssertEqual((events.last?.data["lastStep"] as? NSNumber)?.intValue, 40)
        let loss = events.first { $0.name == "figure" && $0.data["id"] as? String == "training-loss" }
        XCTAssertTrue((loss?.data["html"] as? String)?.contains("at step 40") == true, "the loss figure's new drawing")

        // A second browser that has no page yet gets the whole page.
        let late = try SocketClient(port: port, request: "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertTrue(late.read(until: { Self.events(in: $0).contains { $0.name == "status" } }, timeout: 10))
        XCTAssertEqual(Set(Self.events(in: late.received).map(\.name)), ["layout", "figure", "metrics", "status"])

        try await stop(server, task)
        XCTAssertTrue(stream.read(until: { $0.hasSuffix("0\r\n\r\n") }, timeout: 5), "the stream ended when the server stopped")
    }

    func testSummaryCaughtMidWriteIsHeldBack() async throws {
        let run = try makeRun(steps: [10])
        let (server, port, task) = try await startServer(run, interval: 0.05)
        let version = await server.hub.version
        let stream = try SocketClient(port: port, request: "GET /events?since=\(version) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertTrue(stream.read(until: { $0.contains("retry:") }, timeout: 10))
        // Half a line, then the rest: the browser never hears of a line cut short.
        let line = Self.summary(20)
        try append(String(line.prefix(12)), to: run)
        try await Task.sleep(nanoseconds: 150_000_000)
        try append(String(line.dropFirst(12)), to: run)
        XCTAssertTrue(stream.read(until: { Self.events(in: $0).contains { $0.name == "status" } }, timeout: 10))
        let statuses = Self.events(in: stream.received).filter { $0.name == "status" }
        XCTAssertEqual(statuses.count, 1, "one update, with the whole line")
        XCTAssertEqual((statuses.first?.data["lastStep"] as? NSNumber)?.intValue, 20)
        XCTAssertEqual((statuses.first?.data["problems"] as? [String])?.filter { $0.contains("cut short") }, [])
        try await stop(server, task)
    }

    func testPageFiguresAndMetricsEndpoints() async throws {
        let run = try makeRun(steps: [10, 20])
        let (server, port, task) = try await startServer(run)
        let page = try SocketClient.get(port: port, path: "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.body.contains("id=\"live-step\">20<"), "the page names the last step")
        XCTAssertTrue(page.body.contains("new EventSource('events?since="))
        XCTAssertTrue(page.body.contains("connect-src 'self'"))
        for external in ["http://", "https://", "<script src", "<link"] { XCTAssertFalse(page.body.contains(external), external) }

        let figure = try SocketClient.get(port: port, path: "/figure/training-loss.svg")
        XCTAssertEqual(figure.status, 200)
        XCTAssertTrue(figure.body.hasPrefix("<?xml"), String(figure.body.prefix(80)))
        XCTAssertTrue(figure.body.contains("last: ") && figure.body.contains("at step 20"))
        XCTAssertEqual(try SocketClient.get(port: port, path: "/figure/nothing.svg").status, 404)

        let metrics = try SocketClient.get(port: port, path: "/metrics.json")
        let object = try JSONSerialization.jsonObject(with: Data(metrics.body.utf8)) as? [String: Any]
        XCTAssertEqual((object?["lastStep"] as? NSNumber)?.intValue, 20)
        XCTAssertEqual((object?["records"] as? [[String: Any]])?.compactMap { ($0["step"] as? NSNumber)?.intValue }, [10, 20])
        try await stop(server, task)
    }
}

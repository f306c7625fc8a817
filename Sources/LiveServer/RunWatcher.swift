import DNCReports
import Foundation
import ServiceLifecycle

/// Polls the run directory (names, sizes and modification times of the files a report reads,
/// every `interval` seconds: portable, and it sees files replaced by rename) and publishes a
/// new snapshot to the hub when something changed.
///
/// A run appends to its debug dump and to `metrics.jsonl` while the watcher reads them: a
/// snapshot that caught a file mid-write is held back and the files read again on the next
/// tick, up to `maxHeldBack` times (a file damaged for good is then shown with its problem).
/// Nothing the directory holds stops the watcher.
public struct RunWatcher: Service {
    public let runDirectory: URL
    public let options: ReportOptions
    public let interval: TimeInterval
    public let hub: EventHub
    public var maxHeldBack = 4
    /// Seconds between keep-alive comments to the browsers.
    public var keepAliveInterval: TimeInterval = 15
    /// The directory's signature when the hub's snapshot was read (`publishNow`'s result):
    /// the first change is looked for against it.
    public var initialSignature: [String] = []
    let log: @Sendable (String) -> Void

    public init(runDirectory: URL, options: ReportOptions, interval: TimeInterval, hub: EventHub,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.runDirectory = runDirectory
        self.options = options
        self.interval = max(interval, 0.05)
        self.hub = hub
        self.log = log
    }

    /// Reads the directory once and publishes what it holds, mid-write or not (the page must
    /// show something before the first browser arrives); returns the signature it read at.
    public func publishNow() async -> [String] {
        let signature = LiveReport.signature(of: runDirectory)
        do { await hub.publish(try LiveSnapshot.read(runDirectory, options: options)) } catch {
            log("cannot read \(runDirectory.path): \(error)")
        }
        return signature
    }

    /// Watches until the server stops (graceful shutdown or cancellation), then ends every
    /// browser's stream so that the server can close its connections.
    public func run() async throws {
        var lastSignature = initialSignature
        var heldBack = 0
        var lastKeepAlive = Date()
        var lastError: String?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            let signature = LiveReport.signature(of: runDirectory)
            if signature != lastSignature {
                do {
                    let snapshot = try LiveSnapshot.read(runDirectory, options: options)
                    if snapshot.unsettled && heldBack < maxHeldBack {
                        heldBack += 1
                    } else {
                        heldBack = 0
                        lastSignature = signature
                        let events = await hub.publish(snapshot)
                        if !events.isEmpty {
                            log("update \(events[0].version): step \(snapshot.lastStep.map(String.init) ?? "none yet"), "
                                + "\(events.filter { $0.name == "figure" }.count) figures changed")
                        }
                    }
                    lastError = nil
                } catch {
                    // The directory went away or cannot be listed: say so once, keep the last page.
                    let text = "\(error)"
                    if text != lastError { log("cannot read \(runDirectory.path): \(text)") }
                    lastError = text
                }
            }
            if Date().timeIntervalSince(lastKeepAlive) >= keepAliveInterval {
                lastKeepAlive = Date()
                await hub.keepAlive()
            }
        }
        await hub.finishAll()
    }
}

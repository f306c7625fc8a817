import Foundation

/// Holds the page's current snapshot and version, and sends every browser connected to
/// `/events` the events that bring it up to date: on connecting (everything, unless it already
/// shows the current version) and at every change the watcher publishes.
public actor EventHub {
    public private(set) var snapshot: LiveSnapshot?
    /// Increases at every published change; the page and each event carry it.
    public private(set) var version = 0
    private var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
    private var nextSubscriber = 0
    private var finished = false
    private let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.log = log
    }

    public var subscriberCount: Int { subscribers.count }

    /// Makes `new` the current snapshot and sends its changes to every browser; returns them.
    @discardableResult
    public func publish(_ new: LiveSnapshot) -> [LiveEvent] {
        let events = LiveEvent.changes(from: snapshot, to: new, version: version + 1)
        snapshot = new
        guard !events.isEmpty else { return [] }
        version += 1
        let text = events.map(\.serverSentEvent).joined()
        for continuation in subscribers.values { continuation.yield(text) }
        return events
    }

    /// A stream of SSE text for one browser whose page shows version `since` (nil: unknown).
    /// It starts with the reconnection delay and, when the browser is behind, the whole page.
    public func subscribe(since: Int?) -> AsyncStream<String> {
        // A browser that stops reading is dropped from, not waited for: its oldest chunks go.
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        guard !finished else {
            continuation.finish()
            return stream
        }
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        var text = "retry: 2000\n\n"
        if let snapshot, since != version {
            text += LiveEvent.changes(from: nil, to: snapshot, version: version).map(\.serverSentEvent).joined()
        }
        continuation.yield(text)
        log("browser connected (\(subscribers.count) watching)")
        return stream
    }

    private func unsubscribe(_ id: Int) {
        guard subscribers.removeValue(forKey: id) != nil else { return }
        log("browser disconnected (\(subscribers.count) watching)")
    }

    /// An SSE comment to every browser, so that idle connections (an ssh tunnel, a proxy) stay
    /// open and a browser that went away is noticed.
    public func keepAlive() {
        for continuation in subscribers.values { continuation.yield(": keep-alive\n\n") }
    }

    /// Ends every stream (the server is stopping) and refuses new ones.
    public func finishAll() {
        finished = true
        for continuation in subscribers.values { continuation.finish() }
        subscribers = [:]
    }
}

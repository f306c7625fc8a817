import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain-socket HTTP/1.1 client for the tests: what goes over the wire is what a browser
/// gets, with no client library between (and nothing to buffer an event stream).
final class SocketClient {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let socket: Int32
    /// Everything received so far (headers, chunk sizes and all).
    private(set) var received = ""

    init(port: Int, request: String) throws {
        signal(SIGPIPE, SIG_IGN)  // a server that closed the connection fails the send instead
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure(description: "connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(request.utf8)
        guard send(socket, bytes, bytes.count, 0) == bytes.count else {
            close(socket)
            throw Failure(description: "send: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(socket) }

    /// Reads until `condition` holds for everything received, the peer closes, or `timeout`
    /// seconds pass; returns whether it holds.
    @discardableResult
    func read(until condition: (String) -> Bool, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var bytes: [UInt8] = Array(received.utf8)
        while !condition(received) {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return false }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(left, 0.2) * 1000))
            if ready <= 0 { continue }
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { return condition(received) }
            bytes += buffer[0..<count]
            received = String(decoding: bytes, as: UTF8.self)
        }
        return true
    }

    /// One GET; returns the status line's code and the body (de-chunked).
    static func get(port: Int, path: String, timeout: TimeInterval = 30) throws -> (status: Int, body: String) {
        let client = try SocketClient(port: port, request: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        client.read(until: { _ in false }, timeout: timeout)
        guard let split = client.received.range(of: "\r\n\r\n") else {
            throw Failure(description: "no HTTP response to GET \(path): '\(client.received.prefix(200))'")
        }
        let head = client.received[..<split.lowerBound]
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var body = String(client.received[split.upperBound...])
        if head.lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
        return (status, body)
    }

    /// The data of a chunked transfer encoding (complete chunks only). In bytes: Swift counts
    /// "\r\n" as one character.
    static func dechunk(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = [], position = 0
        while let lineEnd = (position..<max(position, bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
              let size = Int(String(decoding: bytes[position..<lineEnd], as: UTF8.self), radix: 16), size > 0,
              lineEnd + 2 + size <= bytes.count {
            out += bytes[(lineEnd + 2)..<(lineEnd + 2 + size)]
            position = lineEnd + 2 + size + 2
        }
        return String(decoding: out, as: UTF8.self)
    }
}

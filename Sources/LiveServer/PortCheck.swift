import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks, before serving, that `--host` names an address of this machine and that `--port` is
/// free on it, by binding a socket there and closing it: so that a bad flag is one line naming
/// it and exit 2 rather than a server error after start-up.
public enum PortCheck {
    public static func check(host: String, port: Int) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &found)
        guard status == 0, let address = found else {
            throw ServeInputError("--host '\(host)': not a host name or address this machine can resolve "
                          + "(\(String(cString: gai_strerror(status)))); give an address of this machine such as 127.0.0.1 or 0.0.0.0")
        }
        defer { freeaddrinfo(found) }
        let socket = Glibc.socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
        guard socket >= 0 else { return }  // No socket to try with: the server reports what it finds.
        defer { close(socket) }
        // As the server binds (SO_REUSEADDR): a port left in TIME_WAIT is free, one listened on is not.
        var one: Int32 = 1
        _ = setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 else { return }
        let code = errno
        switch code {
        case EADDRINUSE:
            throw ServeInputError("--port \(port): already in use on \(host); choose another port (1–65535), or 0 for any free one")
        case EACCES:
            throw ServeInputError("--port \(port): binding needs privileges on this machine; use a port from 1024 to 65535, or 0 for any free one")
        case EADDRNOTAVAIL:
            throw ServeInputError("--host '\(host)': not an address of this machine; use 127.0.0.1 (the default), 0.0.0.0 or one of its own addresses")
        default:
            throw ServeInputError("--host '\(host)' --port \(port): cannot listen there (\(String(cString: strerror(code))))")
        }
    }
}

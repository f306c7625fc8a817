import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The POSIX steps that make a file replacement survive a power cut: data synced before the
/// rename, the rename itself synced through the directory. HDF5's flush only hands data to the
/// kernel; without these a crash can leave a renamed but empty checkpoint.
enum DurableFiles {
    /// fsync on a file or a directory (opened read-only, which Linux allows for both).
    static func sync(_ path: String) throws(CheckpointError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .ioFailed(file: path, reason: "cannot open for fsync: \(lastError())") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .ioFailed(file: path, reason: "fsync failed: \(lastError())") }
    }

    /// rename(2): atomically replaces `destination` if it exists (same file system only).
    static func move(_ source: String, replacing destination: String) throws(CheckpointError) {
        guard rename(source, destination) == 0 else {
            throw .ioFailed(file: destination, reason: "cannot rename '\(source)' into place: \(lastError())")
        }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}

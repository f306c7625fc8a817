import Foundation

extension HDF5File {
    /// Creates the file at `path` by writing it under a temporary name beside it
    /// (`.<name>.tmp-<pid>`) with `body` and renaming it into place: a failed write (a full disk)
    /// leaves no unreadable file, and an earlier file of the same name stays as it was. HDF5
    /// errors name `path`, the file the caller asked for, not the temporary one.
    public static func writeAtomically(to path: String, _ body: (HDF5File) throws -> Void) throws {
        let final = URL(fileURLWithPath: path)
        let temporary = final.deletingLastPathComponent().appendingPathComponent(".\(final.lastPathComponent).tmp-\(getpid())").path
        try? FileManager.default.removeItem(atPath: temporary)
        do {
            let file = try HDF5File(path: temporary, mode: .create)
            do {
                try body(file)
            } catch {
                try? file.close()
                throw error
            }
            try file.close()
            guard rename(temporary, path) == 0 else {
                throw HDF5Error.writeFailed(file: path, object: "/", reason: "cannot rename '\(temporary)' into place: \(String(cString: strerror(errno)))")
            }
        } catch let error as HDF5Error {
            try? FileManager.default.removeItem(atPath: temporary)
            throw HDF5Error.writeFailed(file: path, object: "/", reason: error.description)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }
}

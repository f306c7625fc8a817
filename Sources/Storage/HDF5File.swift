@preconcurrency import CHDF5
import CDNCShim
import Foundation

/// An open HDF5 file: groups, datasets and attributes addressed by slash-separated paths
/// (`params/w`, `/params/w` and `params/w/` are the same object; `/` is the root group).
///
/// Not thread-safe: use one instance from one thread at a time (HDF5 itself serialises calls).
/// Every HDF5 id this class opens is closed before the call returns, on error paths too, so the
/// only id it holds between calls is the file's own; `close()` or deinit releases that one.
public final class HDF5File {
    public enum Mode: Sendable {
        /// Open an existing file for reading.
        case readOnly
        /// Open an existing file for reading and writing.
        case readWrite
        /// Create the file, replacing any existing file at the path.
        case create
        /// Create the file; fail if it already exists (protects checkpoints from being clobbered).
        case createExclusive
    }

    /// Which on-disk structures a newly created file uses; opening an existing file ignores it.
    public enum Format: Sendable {
        /// HDF5's default: the oldest structures that can hold the objects, readable by every
        /// HDF5 release. Metadata carries no checksums.
        case compatible
        /// HDF5 1.8 structures (superblock v2, object headers v2): every metadata block carries a
        /// checksum, so flipped bytes in the file's structure are reported as damage instead of
        /// being misread. Readable by any HDF5 since 1.8 (2008), hence by h5py and MATLAB.
        /// Checkpoints use it; the 1.10-only structures are deliberately not enabled.
        case checksummed
    }

    /// The path as given to `init`, used verbatim in error messages.
    public let path: String
    public let mode: Mode
    /// The HDF5 file id, or -1 once closed.
    private(set) var fileID: hid_t = -1

    public var isOpen: Bool { fileID >= 0 }
    public var isWritable: Bool { mode != .readOnly }

    /// Opens or creates `path`.
    ///
    /// Opening distinguishes a missing file, a file that is not HDF5 at all, and an HDF5 file that
    /// HDF5 cannot read (for example truncated), because the fixes differ. `format` applies to
    /// `.create` and `.createExclusive` only.
    public init(path: String, mode: Mode = .readOnly, format: Format = .compatible) throws {
        self.path = path
        self.mode = mode
        HDF5Library.prepare()

        // Strong close degree: closing the file also closes any object left open, so a missed
        // close somewhere cannot keep the file (and its unflushed data) alive.
        let fapl = H5Pcreate(dnc_h5p_file_access())
        guard fapl >= 0 else { throw HDF5Error.cannotOpen(file: path, reason: HDF5Library.lastError()) }
        defer { H5Pclose(fapl) }
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)

        let manager = FileManager.default
        switch mode {
        case .readOnly, .readWrite:
            guard manager.fileExists(atPath: path) else { throw HDF5Error.fileNotFound(file: path) }
            guard manager.isReadableFile(atPath: path) else {
                throw HDF5Error.cannotOpen(file: path, reason: "permission denied")
            }
            let signature = H5Fis_hdf5(path)
            if signature == 0 { throw HDF5Error.notHDF5(file: path) }
            if signature < 0 { throw HDF5Error.cannotOpen(file: path, reason: HDF5Library.lastError()) }
            let flags = mode == .readOnly ? dnc_h5f_acc_rdonly() : dnc_h5f_acc_rdwr()
            fileID = H5Fopen(path, flags, fapl)
            if fileID < 0 { throw HDF5Error.corrupted(file: path, reason: HDF5Library.lastError()) }
        case .create, .createExclusive:
            if mode == .createExclusive && manager.fileExists(atPath: path) {
                throw HDF5Error.cannotOpen(file: path, reason: "file already exists")
            }
            if format == .checksummed, H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 {
                throw HDF5Error.cannotOpen(file: path, reason: HDF5Library.lastError())
            }
            let flags = mode == .create ? dnc_h5f_acc_trunc() : dnc_h5f_acc_excl()
            // No creation times on the root group (nor, below, on groups and datasets): the same
            // content makes the same bytes, whenever it is written.
            let fcpl = H5Pcreate(dnc_h5p_file_create())
            defer { if fcpl >= 0 { H5Pclose(fcpl) } }
            guard fcpl >= 0, H5Pset_obj_track_times(fcpl, false) >= 0 else {
                throw HDF5Error.cannotOpen(file: path, reason: HDF5Library.lastError())
            }
            fileID = H5Fcreate(path, flags, fcpl, fapl)
            if fileID < 0 { throw HDF5Error.cannotOpen(file: path, reason: HDF5Library.lastError()) }
        }
    }

    deinit {
        if fileID >= 0 { H5Fclose(fileID) }
    }

    /// Writes buffered data to disk without closing, e.g. after each checkpoint of a long run.
    public func flush() throws {
        let file = try openFileID()
        if H5Fflush(file, H5F_SCOPE_LOCAL) < 0 {
            throw HDF5Error.writeFailed(file: path, object: "/", reason: HDF5Library.lastError())
        }
    }

    /// Flushes and closes the file. Later calls on this instance throw `fileClosed`; closing
    /// twice is harmless. Throws if the final flush fails, because then the file is incomplete.
    public func close() throws {
        guard fileID >= 0 else { return }
        HDF5Library.prepare()
        let file = fileID
        fileID = -1
        let flushed = !isWritable || H5Fflush(file, H5F_SCOPE_LOCAL) >= 0
        let flushError = flushed ? "" : HDF5Library.lastError()
        let closed = H5Fclose(file) >= 0
        let closeError = closed ? "" : HDF5Library.lastError()
        if !flushed || !closed {
            throw HDF5Error.writeFailed(file: path, object: "/", reason: flushed ? closeError : flushError)
        }
    }

    /// Groups, datasets, named types and attributes of this file that are open right now. Every
    /// call of this class closes what it opens, so outside a call this is 0; tests assert it to
    /// catch leaked ids, which would otherwise only show as files that cannot be reopened.
    public func openObjectCount() throws -> Int {
        let file = try openFileID()
        let kinds = UInt32(H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR)
        return Int(H5Fget_obj_count(file, kinds))
    }

    // MARK: Shared helpers

    /// The file id for the next HDF5 calls, after silencing HDF5's stderr dump on this thread.
    func openFileID() throws -> hid_t {
        guard fileID >= 0 else { throw HDF5Error.fileClosed(file: path) }
        HDF5Library.prepare()
        return fileID
    }

    func requireWritable(_ object: String) throws {
        guard isWritable else { throw HDF5Error.writeFailed(file: path, object: object, reason: "file is open read-only") }
    }

    /// The path's components, with empty ones (from leading, trailing or doubled slashes) dropped.
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// The form used in error messages: `params/w`, or `/` for the root.
    static func displayName(_ path: String) -> String {
        let parts = components(path)
        return parts.isEmpty ? "/" : parts.joined(separator: "/")
    }

    /// The absolute form passed to HDF5: `/params/w`, or `/` for the root.
    static func absolute(_ path: String) -> String {
        "/" + components(path).joined(separator: "/")
    }

    /// Opens the object at `path` (group or dataset), runs `body`, and closes it.
    func withObject<R>(_ path: String, _ body: (hid_t, H5I_type_t) throws -> R) throws -> R {
        let file = try openFileID()
        guard try exists(path) else {
            throw HDF5Error.missingObject(file: self.path, object: Self.displayName(path))
        }
        let object = H5Oopen(file, Self.absolute(path), HDF5Library.defaultList)
        guard object >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        defer { H5Oclose(object) }
        return try body(object, H5Iget_type(object))
    }

    /// Like `withObject`, but the object must be a dataset.
    func withDataset<R>(_ path: String, _ body: (hid_t) throws -> R) throws -> R {
        try withObject(path) { object, kind in
            guard kind == H5I_DATASET else {
                throw HDF5Error.wrongKind(file: self.path, object: Self.displayName(path),
                                          expected: "dataset", found: Self.kindName(kind))
            }
            return try body(object)
        }
    }

    static func kindName(_ kind: H5I_type_t) -> String {
        switch kind {
        case H5I_GROUP: return "group"
        case H5I_DATASET: return "dataset"
        case H5I_DATATYPE: return "named datatype"
        default: return "object of unknown kind"
        }
    }

    /// Creates the groups above `object` that do not exist yet, without creation times (HDF5's
    /// own intermediate-group creation would give them times). Errors name `object`.
    func createParentGroups(of object: String) throws {
        let file = try openFileID()
        var prefix = ""
        for part in Self.components(object).dropLast() {
            prefix += "/" + part
            let found = H5Lexists(file, prefix, HDF5Library.defaultList)
            if found > 0 { continue }
            let fail = { HDF5Error.writeFailed(file: self.path, object: Self.displayName(object), reason: HDF5Library.lastError()) }
            guard found == 0 else { throw fail() }  // a dataset on the way
            let gcpl = try Self.untimedGroupCreationList(file: path, object: Self.displayName(object))
            defer { H5Pclose(gcpl) }
            let group = H5Gcreate2(file, prefix, HDF5Library.defaultList, gcpl, HDF5Library.defaultList)
            guard group >= 0 else { throw fail() }
            H5Gclose(group)
        }
    }

    /// A group creation property list without creation times (the caller closes it).
    static func untimedGroupCreationList(file: String, object: String) throws -> hid_t {
        let gcpl = H5Pcreate(dnc_h5p_group_create())
        guard gcpl >= 0, H5Pset_obj_track_times(gcpl, false) >= 0 else {
            let reason = HDF5Library.lastError()
            if gcpl >= 0 { H5Pclose(gcpl) }
            throw HDF5Error.writeFailed(file: file, object: object, reason: reason)
        }
        return gcpl
    }
}

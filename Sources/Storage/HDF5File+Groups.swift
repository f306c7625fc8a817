@preconcurrency import CHDF5

/// Navigation: which objects exist, what they are, and creating groups.
extension HDF5File {
    /// Whether an object (group or dataset) exists at `path`; the root always does.
    ///
    /// Checks each prefix in turn, because HDF5 reports a missing intermediate group as an error
    /// rather than as "no".
    public func exists(_ path: String) throws -> Bool {
        let file = try openFileID()
        let parts = Self.components(path)
        var prefix = ""
        for part in parts {
            prefix += "/" + part
            guard H5Lexists(file, prefix, HDF5Library.defaultList) > 0 else { return false }
        }
        // A soft link can exist while its target does not.
        return parts.isEmpty || H5Oexists_by_name(file, prefix, HDF5Library.defaultList) > 0
    }

    /// Whether `path` exists and is a group (false when missing).
    public func isGroup(_ path: String) throws -> Bool {
        guard try exists(path) else { return false }
        return try withObject(path) { _, kind in kind == H5I_GROUP }
    }

    /// Whether `path` exists and is a dataset (false when missing).
    public func isDataset(_ path: String) throws -> Bool {
        guard try exists(path) else { return false }
        return try withObject(path) { _, kind in kind == H5I_DATASET }
    }

    /// Creates the group at `path` and any missing parents; does nothing if it already exists.
    public func createGroup(_ path: String) throws {
        let file = try openFileID()
        let name = Self.displayName(path)
        if try exists(path) {
            try withObject(path) { _, kind in
                guard kind == H5I_GROUP else {
                    throw HDF5Error.wrongKind(file: self.path, object: name, expected: "group", found: Self.kindName(kind))
                }
            }
            return
        }
        try requireWritable(name)
        try createParentGroups(of: path)
        let gcpl = try Self.untimedGroupCreationList(file: self.path, object: name)
        defer { H5Pclose(gcpl) }
        let group = H5Gcreate2(file, Self.absolute(path), HDF5Library.defaultList, gcpl, HDF5Library.defaultList)
        guard group >= 0 else {
            throw HDF5Error.writeFailed(file: self.path, object: name, reason: HDF5Library.lastError())
        }
        H5Gclose(group)
    }

    /// Unlinks the group or dataset at `path` (a group with everything below it). HDF5 does
    /// not reclaim the space until the file is repacked; tools and tests use it to edit files.
    public func remove(_ path: String) throws {
        let file = try openFileID()
        let name = Self.displayName(path)
        try requireWritable(name)
        guard !Self.components(path).isEmpty else {
            throw HDF5Error.invalidArgument(file: self.path, object: name, reason: "the root group cannot be removed")
        }
        guard try exists(path) else { throw HDF5Error.missingObject(file: self.path, object: name) }
        guard H5Ldelete(file, Self.absolute(path), HDF5Library.defaultList) >= 0 else {
            throw HDF5Error.writeFailed(file: self.path, object: name, reason: HDF5Library.lastError())
        }
    }

    /// Names (not paths) of the links directly inside the group at `path`, sorted, so that
    /// callers see the same order whatever order the file was written in.
    public func children(of path: String = "/") throws -> [String] {
        let name = Self.displayName(path)
        return try withObject(path) { group, kind in
            guard kind == H5I_GROUP else {
                throw HDF5Error.wrongKind(file: self.path, object: name, expected: "group", found: Self.kindName(kind))
            }
            var info = H5G_info_t()
            guard H5Gget_info(group, &info) >= 0 else {
                throw HDF5Error.readFailed(file: self.path, object: name, reason: HDF5Library.lastError())
            }
            var names: [String] = []
            names.reserveCapacity(Int(info.nlinks))
            for index in 0..<info.nlinks {
                let length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, HDF5Library.defaultList)
                guard length >= 0 else {
                    throw HDF5Error.readFailed(file: self.path, object: name, reason: HDF5Library.lastError())
                }
                var buffer = [CChar](repeating: 0, count: length + 1)
                guard H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index,
                                         &buffer, buffer.count, HDF5Library.defaultList) >= 0 else {
                    throw HDF5Error.readFailed(file: self.path, object: name, reason: HDF5Library.lastError())
                }
                names.append(String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return names.sorted()
        }
    }
}

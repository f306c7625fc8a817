@preconcurrency import CHDF5
import CDNCShim

/// How a dataset is stored rather than what it holds: extendibility, chunking, filters and the
/// bytes it occupies. Tests use it to check that compression and checksums were really applied;
/// tools use it to report sizes.
extension HDF5File {
    /// The maximum shape; nil entries are unlimited (extendible) dimensions.
    public func maxShape(of path: String) throws -> [Int?] {
        try withDataset(path) { dataset in try maxShape(of: dataset, path) }
    }

    /// The chunk shape, or nil for contiguous or compact storage.
    public func chunkShape(of path: String) throws -> [Int]? {
        try withDatasetCreationList(path) { dcpl in
            guard H5Pget_layout(dcpl) == H5D_CHUNKED else { return nil }
            let rank = H5Pget_chunk(dcpl, 0, nil)
            guard rank >= 0 else {
                throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
            }
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            guard H5Pget_chunk(dcpl, rank, &dims) == rank else {
                throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
            }
            return dims.map { Int($0) }
        }
    }

    /// The shuffle, gzip and checksum filters the dataset was created with.
    public func filters(of path: String) throws -> HDF5Filters {
        try withDatasetCreationList(path) { dcpl in HDF5Filters(reading: dcpl) }
    }

    /// Bytes the dataset's data occupies in the file (after compression; chunks never written
    /// occupy nothing).
    public func storedBytes(of path: String) throws -> Int {
        try withDataset(path) { dataset in Int(H5Dget_storage_size(dataset)) }
    }

    func maxShape(of dataset: hid_t, _ path: String) throws -> [Int?] {
        let space = H5Dget_space(dataset)
        guard space >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        var maxDims = [hsize_t](repeating: 0, count: Int(rank))
        guard rank == 0 || H5Sget_simple_extent_dims(space, nil, &maxDims) == rank else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        let unlimited = dnc_h5s_unlimited()
        return maxDims.map { $0 == unlimited ? nil : Int($0) }
    }

    private func withDatasetCreationList<R>(_ path: String, _ body: (hid_t) throws -> R) throws -> R {
        try withDataset(path) { dataset in
            let dcpl = H5Dget_create_plist(dataset)
            guard dcpl >= 0 else {
                throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
            }
            defer { H5Pclose(dcpl) }
            return try body(dcpl)
        }
    }
}

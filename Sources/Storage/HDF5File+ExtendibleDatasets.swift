@preconcurrency import CHDF5
import CDNCShim
import DNCNumerics

/// Datasets that grow along their first axis: shape (rows, rowShape...), one row being one
/// tensor of `rowShape`. Logs written a step at a time (debug dumps, metrics) use them, so a
/// long run never holds the whole log in memory and a reader sees every row flushed so far.
///
/// On disk they are ordinary chunked datasets with an unlimited first dimension (maxshape
/// `(None, ...)` in h5py), gzip-compressed by default; every HDF5 reader handles them.
extension HDF5File {
    /// Creates an empty (0 rows) extendible dataset whose rows have `rowShape` (`[]`: one scalar
    /// per row) and `elementType` float32, float64 or int64, creating parent groups; an existing
    /// dataset at `path` is replaced.
    ///
    /// `chunkRows` rows form one chunk; by default as many as fit 256 KiB (at least one, and a
    /// single row larger than that is split). Every row dimension must be positive.
    public func createExtendibleDataset(_ path: String, rowShape: [Int], elementType: HDF5ElementType,
                                        filters: HDF5Filters = .compressed, chunkRows: Int? = nil) throws {
        let name = Self.displayName(path)
        guard let type = Self.nativeType(of: elementType) else {
            throw HDF5Error.invalidArgument(file: self.path, object: name,
                                            reason: "extendible datasets hold float32, float64 or int64, not \(elementType)")
        }
        guard rowShape.allSatisfy({ $0 > 0 }), HDF5Library.elementCount(rowShape) != nil else {
            throw HDF5Error.invalidArgument(file: self.path, object: name, reason: "row shape \(rowShape) must have positive dimensions")
        }
        if let chunkRows, chunkRows < 1 {
            throw HDF5Error.invalidArgument(file: self.path, object: name, reason: "chunkRows \(chunkRows) must be at least 1")
        }
        let elementSize = H5Tget_size(type)
        let rowChunk = HDF5Library.chunkShape(rowShape, elementSize: elementSize, targetBytes: HDF5Library.extendibleChunkBytes)
        let rows = chunkRows ?? max(1, HDF5Library.extendibleChunkBytes / (rowChunk.reduce(1, *) * elementSize))
        let chunk = [rows] + rowChunk
        let dataset = try createDataset(path, shape: [0] + rowShape, maxShape: [nil] + rowShape.map { $0 },
                                        type: type, chunk: chunk, filters: filters)
        H5Dclose(dataset)
    }

    /// Appends one row; `row.shape` must be the dataset's row shape and `T` its element type.
    public func appendRow<T: Real>(_ row: Tensor<T>, to path: String) throws {
        try appendRows(row.reshaped([1] + row.shape), to: path)
    }

    /// Appends `rows.shape[0]` rows; `rows.shape` must be `[n] + rowShape` and `T` the
    /// dataset's element type (no silent conversion).
    public func appendRows<T: Real>(_ rows: Tensor<T>, to path: String) throws {
        guard HDF5Library.nativeType(of: T.self) != nil else {
            throw HDF5Error.invalidArgument(file: self.path, object: Self.displayName(path),
                                            reason: "element type \(T.self) has no HDF5 mapping")
        }
        try rows.withUnsafeBufferPointer { buffer in
            try append(path, shape: rows.shape, stored: HDF5Library.elementType(of: T.self),
                       data: UnsafeRawPointer(buffer.baseAddress))
        }
    }

    /// Appends int64 rows, row-major; `values.count` must be a multiple of the row size.
    public func appendRows(ints values: [Int64], to path: String) throws {
        let rowShape = try self.rowShape(of: path)
        let rowCount = HDF5Library.elementCount(rowShape) ?? 1
        guard rowCount > 0, values.count % rowCount == 0 else {
            throw HDF5Error.invalidArgument(file: self.path, object: Self.displayName(path),
                                            reason: "\(values.count) values are not whole rows of shape \(rowShape)")
        }
        try values.withUnsafeBufferPointer { buffer in
            try append(path, shape: [values.count / rowCount] + rowShape, stored: .int64,
                       data: UnsafeRawPointer(buffer.baseAddress))
        }
    }

    /// Rows written so far (the first dimension).
    public func rowCount(of path: String) throws -> Int {
        let shape = try self.shape(of: path)
        guard let rows = shape.first else {
            throw HDF5Error.invalidArgument(file: self.path, object: Self.displayName(path), reason: "a scalar dataset has no rows")
        }
        return rows
    }

    /// The shape of one row: the dataset's shape without its first dimension.
    public func rowShape(of path: String) throws -> [Int] {
        let shape = try self.shape(of: path)
        guard !shape.isEmpty else {
            throw HDF5Error.invalidArgument(file: self.path, object: Self.displayName(path), reason: "a scalar dataset has no rows")
        }
        return Array(shape.dropFirst())
    }

    /// Grows the dataset by `shape[0]` rows and writes `data` (of the dataset's type) into them.
    private func append(_ path: String, shape: [Int], stored: HDF5ElementType, data: UnsafeRawPointer?) throws {
        let name = Self.displayName(path)
        try requireWritable(name)
        try withDataset(path) { dataset in
            let found = try datasetType(dataset, path)
            guard found == stored, let type = Self.nativeType(of: stored) else {
                throw HDF5Error.wrongType(file: self.path, object: name, expected: stored.description, found: found.description)
            }
            let current = try datasetShape(dataset, path)
            guard let rows = current.first, try maxShape(of: dataset, path).first == .some(nil) else {
                throw HDF5Error.invalidArgument(file: self.path, object: name, reason: "dataset is not extendible along its first axis")
            }
            let rowShape = Array(current.dropFirst())
            guard shape.count == current.count, Array(shape.dropFirst()) == rowShape else {
                throw HDF5Error.wrongShape(file: self.path, object: name, expected: [shape.first ?? 1] + rowShape, found: shape)
            }
            let added = shape[0]
            guard added > 0 else { return }
            let fail = { HDF5Error.writeFailed(file: self.path, object: name, reason: HDF5Library.lastError()) }
            let newDims = ([rows + added] + rowShape).map { hsize_t($0) }
            guard H5Dset_extent(dataset, newDims) >= 0 else { throw fail() }
            let fileSpace = H5Dget_space(dataset)
            guard fileSpace >= 0 else { throw fail() }
            defer { H5Sclose(fileSpace) }
            let start = [hsize_t(rows)] + rowShape.map { _ in hsize_t(0) }
            let count = shape.map { hsize_t($0) }
            guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil) >= 0 else { throw fail() }
            let memorySpace = HDF5Library.makeSpace(shape)
            guard memorySpace >= 0 else { throw fail() }
            defer { H5Sclose(memorySpace) }
            guard H5Dwrite(dataset, type, memorySpace, fileSpace, HDF5Library.defaultList, data) >= 0 else { throw fail() }
        }
    }

    /// The in-memory type for the element types extendible datasets support.
    static func nativeType(of elementType: HDF5ElementType) -> hid_t? {
        switch elementType {
        case .float32: return dnc_h5t_native_float()
        case .float64: return dnc_h5t_native_double()
        case .integer(bytes: 8, signed: true): return dnc_h5t_native_int64()
        default: return nil
        }
    }
}

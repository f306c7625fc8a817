@preconcurrency import CHDF5
import CDNCShim
import DNCNumerics

/// Datasets of float32, float64 and int64 elements, of any rank. Shapes are row-major
/// (C order, last axis fastest), exactly `Tensor.shape`; a scalar dataset has shape `[]`.
extension HDF5File {
    // MARK: Writing

    /// Writes `tensor` as a float32 (`Float`) or float64 (`Double`) dataset of shape
    /// `tensor.shape`, creating missing parent groups. With `filters`, the dataset is chunked
    /// (chunks of at most 1 MiB) and filtered; see `HDF5Filters`.
    ///
    /// An existing dataset at `path` is unlinked and written anew, so shape and type may change
    /// between checkpoints; HDF5 does not reclaim the old bytes until the file is repacked.
    public func write<T: Real>(_ tensor: Tensor<T>, to path: String, filters: HDF5Filters = .none) throws {
        guard let type = HDF5Library.nativeType(of: T.self) else {
            throw HDF5Error.invalidArgument(file: self.path, object: Self.displayName(path),
                                            reason: "element type \(T.self) has no HDF5 mapping")
        }
        try tensor.withUnsafeBufferPointer { buffer in
            try writeDataset(path, shape: tensor.shape, type: type, filters: filters, data: UnsafeRawPointer(buffer.baseAddress))
        }
    }

    /// Writes `ints` as an int64 dataset of `shape` (row-major; `[]` for a scalar, which needs
    /// exactly one value).
    public func write(ints: [Int64], shape: [Int], to path: String, filters: HDF5Filters = .none) throws {
        guard let count = HDF5Library.elementCount(shape), count == ints.count else {
            throw HDF5Error.invalidArgument(file: self.path, object: Self.displayName(path),
                                            reason: "shape \(shape) does not hold \(ints.count) values")
        }
        try ints.withUnsafeBufferPointer { buffer in
            try writeDataset(path, shape: shape, type: dnc_h5t_native_int64(), filters: filters,
                             data: UnsafeRawPointer(buffer.baseAddress))
        }
    }

    /// `write(ints:shape:to:)` for `Int` values, stored as int64.
    public func write(ints: [Int], shape: [Int], to path: String, filters: HDF5Filters = .none) throws {
        try write(ints: ints.map { Int64($0) }, shape: shape, to: path, filters: filters)
    }

    /// Creates (or recreates) the dataset and writes `data`, `shape`'s element count of `type`.
    private func writeDataset(_ path: String, shape: [Int], type: hid_t, filters: HDF5Filters, data: UnsafeRawPointer?) throws {
        let name = Self.displayName(path)
        guard let count = HDF5Library.elementCount(shape) else {
            throw HDF5Error.invalidArgument(file: self.path, object: name, reason: "invalid shape \(shape)")
        }
        // Chunking needs a positive extent on every axis; scalars and empty datasets stay contiguous.
        let chunk = filters.isEmpty || shape.isEmpty || count == 0 ? nil
            : HDF5Library.chunkShape(shape, elementSize: H5Tget_size(type), targetBytes: HDF5Library.fixedChunkBytes)
        let dataset = try createDataset(path, shape: shape, maxShape: shape, type: type, chunk: chunk, filters: filters)
        defer { H5Dclose(dataset) }
        if count > 0, H5Dwrite(dataset, type, HDF5Library.allSelection, HDF5Library.allSelection, HDF5Library.defaultList, data) < 0 {
            throw HDF5Error.writeFailed(file: self.path, object: name, reason: HDF5Library.lastError())
        }
    }

    /// Creates the dataset at `path` (unlinking any existing dataset there, refusing to replace
    /// a group) with parent groups, and returns its open id, which the caller closes.
    /// `maxShape` entries of nil are unlimited; `chunk` nil means contiguous storage, in which
    /// case `filters` must be empty.
    func createDataset(_ path: String, shape: [Int], maxShape: [Int?], type: hid_t,
                       chunk: [Int]?, filters: HDF5Filters) throws -> hid_t {
        let file = try openFileID()
        let name = Self.displayName(path)
        try requireWritable(name)
        guard !Self.components(path).isEmpty else {
            throw HDF5Error.invalidArgument(file: self.path, object: name, reason: "the root group cannot be a dataset")
        }
        if try exists(path) {
            try withObject(path) { _, kind in
                guard kind == H5I_DATASET else {
                    throw HDF5Error.wrongKind(file: self.path, object: name, expected: "dataset", found: Self.kindName(kind))
                }
            }
            guard H5Ldelete(file, Self.absolute(path), HDF5Library.defaultList) >= 0 else {
                throw HDF5Error.writeFailed(file: self.path, object: name, reason: HDF5Library.lastError())
            }
        }
        let fail = { HDF5Error.writeFailed(file: self.path, object: name, reason: HDF5Library.lastError()) }
        try createParentGroups(of: path)
        let dcpl = H5Pcreate(dnc_h5p_dataset_create())
        guard dcpl >= 0 else { throw fail() }
        defer { H5Pclose(dcpl) }
        guard H5Pset_obj_track_times(dcpl, false) >= 0 else { throw fail() }
        if let chunk {
            let dims = chunk.map { hsize_t($0) }
            guard H5Pset_chunk(dcpl, Int32(dims.count), dims) >= 0 else { throw fail() }
            try filters.apply(to: dcpl, file: self.path, object: name)
        }
        let space: hid_t
        if shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            let dims = shape.map { hsize_t($0) }
            let maxDims = maxShape.map { $0.map { hsize_t($0) } ?? dnc_h5s_unlimited() }
            space = H5Screate_simple(Int32(dims.count), dims, maxDims)
        }
        guard space >= 0 else { throw fail() }
        defer { H5Sclose(space) }
        let dataset = H5Dcreate2(file, Self.absolute(path), type, space, HDF5Library.defaultList, dcpl, HDF5Library.defaultList)
        guard dataset >= 0 else { throw fail() }
        return dataset
    }

    // MARK: Inspecting

    /// The dataset's shape (`[]` for a scalar).
    public func shape(of path: String) throws -> [Int] {
        try withDataset(path) { dataset in try datasetShape(dataset, path) }
    }

    /// The dataset's stored element type.
    public func elementType(of path: String) throws -> HDF5ElementType {
        try withDataset(path) { dataset in try datasetType(dataset, path) }
    }

    func datasetShape(_ dataset: hid_t, _ path: String) throws -> [Int] {
        let space = H5Dget_space(dataset)
        guard space >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        defer { H5Sclose(space) }
        guard let shape = HDF5Library.shape(ofSpace: space), HDF5Library.elementCount(shape) != nil else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path),
                                       reason: "dataspace is null or too large")
        }
        return shape
    }

    func datasetType(_ dataset: hid_t, _ path: String) throws -> HDF5ElementType {
        let type = H5Dget_type(dataset)
        guard type >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        defer { H5Tclose(type) }
        return HDF5ElementType(typeID: type)
    }

    // MARK: Reading

    /// Reads a float dataset whose stored type is exactly `T` (float32 for `Float`, float64 for
    /// `Double`); anything else throws `wrongType`, so precision is never lost silently. Pass
    /// `shape` to also require that shape (throws `wrongShape`).
    public func readTensor<T: Real>(_ path: String, as _: T.Type = T.self, shape expected: [Int]? = nil) throws -> Tensor<T> {
        try withDataset(path) { dataset in
            let stored = try datasetType(dataset, path)
            let wanted = HDF5Library.elementType(of: T.self)
            guard stored == wanted else {
                throw HDF5Error.wrongType(file: self.path, object: Self.displayName(path),
                                          expected: wanted.description, found: stored.description)
            }
            return try readFloats(dataset, path, as: T.self, expected: expected)
        }
    }

    /// Reads a float32 or float64 dataset as `T`, rounding to nearest when narrowing (the
    /// fixtures are float64 while training runs in `Float`). Integer and other types throw
    /// `wrongType`.
    public func readTensorConverting<T: Real>(_ path: String, as _: T.Type = T.self, shape expected: [Int]? = nil) throws -> Tensor<T> {
        try withDataset(path) { dataset in
            // Read at the stored precision and convert in Swift, so the rounding is Swift's.
            switch try datasetType(dataset, path) {
            case .float32: return try readFloats(dataset, path, as: Float.self, expected: expected).converted(to: T.self)
            case .float64: return try readFloats(dataset, path, as: Double.self, expected: expected).converted(to: T.self)
            case let stored:
                throw HDF5Error.wrongType(file: self.path, object: Self.displayName(path),
                                          expected: "float32 or float64", found: stored.description)
            }
        }
    }

    /// Reads an integer dataset of any signedness and width up to 8 bytes as `Int64` values,
    /// row-major, with its shape. Unsigned 64-bit values above `Int64.max` saturate (HDF5's
    /// conversion rule).
    public func readInts(_ path: String) throws -> (shape: [Int], values: [Int64]) {
        try withDataset(path) { dataset in
            let stored = try datasetType(dataset, path)
            guard case .integer(let bytes, _) = stored, bytes <= 8 else {
                throw HDF5Error.wrongType(file: self.path, object: Self.displayName(path),
                                          expected: "an integer type", found: stored.description)
            }
            let shape = try datasetShape(dataset, path)
            let values: [Int64] = try readElements(dataset, path, count: HDF5Library.elementCount(shape) ?? 0,
                                                   type: dnc_h5t_native_int64())
            return (shape, values)
        }
    }

    private func readFloats<T: Real>(_ dataset: hid_t, _ path: String, as _: T.Type, expected: [Int]?) throws -> Tensor<T> {
        let shape = try datasetShape(dataset, path)
        if let expected, expected != shape {
            throw HDF5Error.wrongShape(file: self.path, object: Self.displayName(path), expected: expected, found: shape)
        }
        guard let type = HDF5Library.nativeType(of: T.self) else {
            throw HDF5Error.invalidArgument(file: self.path, object: Self.displayName(path),
                                            reason: "element type \(T.self) has no HDF5 mapping")
        }
        let values: [T] = try readElements(dataset, path, count: HDF5Library.elementCount(shape) ?? 0, type: type)
        return Tensor(shape: shape, storage: values)
    }

    /// Reads the whole dataset as `count` elements of memory type `type` (which must match `E`).
    private func readElements<E: Numeric>(_ dataset: hid_t, _ path: String, count: Int, type: hid_t) throws -> [E] {
        var values = [E](repeating: 0, count: count)
        guard count > 0 else { return values }
        let status = values.withUnsafeMutableBytes { H5Dread(dataset, type, HDF5Library.allSelection, HDF5Library.allSelection, HDF5Library.defaultList, $0.baseAddress) }
        guard status >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        return values
    }
}

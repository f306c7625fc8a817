@preconcurrency import CHDF5
import CDNCShim

/// Named dimensions through HDF5 dimension scales (the high-level library's H5DS API), the
/// convention netCDF-4 files use: each dimension is a 1-D dataset beside the data, marked as a
/// scale and attached to every axis it measures. xarray (h5netcdf engine), ncdump and Panoply
/// then name the axes; h5py shows them as `dataset.dims[i].label` / `dataset.dims[i][0]`.
///
/// A scale's values are the indices 0 ..< length (int64), so it is also a coordinate variable.
/// A dimension measuring an unlimited axis is itself extendible and grows with
/// `growDimensionScale` as rows are appended.
extension HDF5File {
    /// Attaches a dimension scale named `names[i]` to axis i of the dataset at `path`, creating
    /// each scale on first use in `group` (by default the dataset's own group; netCDF readers
    /// also find dimensions in any ancestor group, which keeps a data group free of them). A
    /// scale that exists must have the axis's length, except an unlimited one, which is grown to
    /// it: in one group a name is one dimension, as netCDF requires.
    public func nameDimensions(of path: String, _ names: [String], in group: String? = nil) throws {
        let name = Self.displayName(path)
        try requireWritable(name)
        let shape = try self.shape(of: path)
        let maxShape = try self.maxShape(of: path)
        guard names.count == shape.count, Set(names).count == names.count else {
            throw HDF5Error.invalidArgument(file: self.path, object: name,
                                            reason: "dimension names \(names) must be \(shape.count) distinct names")
        }
        let parent = group.map { Self.components($0).joined(separator: "/") }
            ?? Self.components(path).dropLast().joined(separator: "/")
        for (axis, dimension) in names.enumerated() {
            let scale = parent.isEmpty ? dimension : parent + "/" + dimension
            let unlimited = maxShape[axis] == nil
            let created = try !exists(scale)
            if created {
                if unlimited {
                    try createExtendibleDataset(scale, rowShape: [], elementType: .int64, filters: .none)
                } else {
                    try write(ints: (0..<Int64(shape[axis])).map { $0 }, shape: [shape[axis]], to: scale)
                }
            }
            // An existing 1-D dataset of that name (eval.h5's `length`) becomes the scale: a
            // coordinate variable, whose values label the axis.
            if try created || !isDimensionScale(scale) {
                try withDataset(scale) { id in
                    guard H5DSset_scale(id, dimension) >= 0 else {
                        throw HDF5Error.writeFailed(file: self.path, object: Self.displayName(scale), reason: HDF5Library.lastError())
                    }
                }
            }
            if unlimited {
                try growDimensionScale(scale, to: shape[axis])
            } else {
                let length = try self.shape(of: scale)
                guard length == [shape[axis]] else {
                    throw HDF5Error.invalidArgument(file: self.path, object: name,
                                                    reason: "axis \(axis) has length \(shape[axis]) but dimension '\(dimension)' has \(length)")
                }
            }
            try withDataset(path) { data in
                try withDataset(scale) { id in
                    guard H5DSattach_scale(data, id, UInt32(axis)) >= 0 else {
                        throw HDF5Error.writeFailed(file: self.path, object: name, reason: HDF5Library.lastError())
                    }
                }
            }
        }
    }

    /// Extends the unlimited dimension scale at `path` to `length` indices (never shrinks it).
    public func growDimensionScale(_ path: String, to length: Int) throws {
        let rows = try rowCount(of: path)
        guard length > rows else { return }
        try appendRows(ints: (Int64(rows)..<Int64(length)).map { $0 }, to: path)
    }

    /// Whether the dataset at `path` is a dimension scale (netCDF's dimensions are, and readers
    /// listing data should skip them).
    public func isDimensionScale(_ path: String) throws -> Bool {
        try withDataset(path) { H5DSis_scale($0) > 0 }
    }

    /// The names of the dimension scales attached to each axis of the dataset at `path`
    /// (nil for an axis without one).
    public func dimensionNames(of path: String) throws -> [String?] {
        let rank = try shape(of: path).count
        return try withDataset(path) { data in
            (0..<rank).map { axis -> String? in
                var found: String?
                var index: Int32 = 0
                // H5DSiterate_scales takes a C callback; the first scale's name is read through
                // its identifier, passed back in `found` via the visitor data pointer.
                withUnsafeMutablePointer(to: &found) { pointer in
                    _ = H5DSiterate_scales(data, UInt32(axis), &index, { _, _, scale, context in
                        let length = H5Iget_name(scale, nil, 0)
                        guard length > 0, let context else { return 1 }
                        var bytes = [CChar](repeating: 0, count: Int(length) + 1)
                        H5Iget_name(scale, &bytes, bytes.count)
                        let full = String(decoding: bytes.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                        context.assumingMemoryBound(to: String?.self).pointee = String(full.split(separator: "/").last ?? "")
                        return 1
                    }, UnsafeMutableRawPointer(pointer))
                }
                return found
            }
        }
    }
}

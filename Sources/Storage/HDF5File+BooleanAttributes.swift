@preconcurrency import CHDF5
import CDNCShim

/// Scalar boolean attributes in h5py's encoding: an enum over int8 with members FALSE = 0 and
/// TRUE = 1. h5py reads it back as `numpy.bool_`, MATLAB as the enum's member name, and the
/// type survives a round trip (an int64 0/1 would come back as an integer).
extension HDF5File {
    public func writeAttribute(_ name: String, _ value: Bool, at path: String = "/") throws {
        let type = H5Tenum_create(dnc_h5t_native_int8())
        guard type >= 0 else {
            throw HDF5Error.writeFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        defer { H5Tclose(type) }
        var falseValue: Int8 = 0
        var trueValue: Int8 = 1
        guard H5Tenum_insert(type, "FALSE", &falseValue) >= 0, H5Tenum_insert(type, "TRUE", &trueValue) >= 0 else {
            throw HDF5Error.writeFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        var stored: Int8 = value ? 1 : 0
        try writeAttributeData(name, at: path, shape: [], type: type, data: &stored)
    }

    /// Reads a scalar boolean written as above (or by h5py); any other type throws
    /// `attributeWrongType`.
    public func readAttribute(_ name: String, at path: String = "/", as _: Bool.Type) throws -> Bool {
        try withAttribute(name, at: path) { attribute, fileType, stored, count in
            guard stored == .boolean, count == 1 else {
                throw attributeTypeError(name, path, expected: "bool", stored: stored, count: count)
            }
            var value: Int8 = 0
            guard H5Aread(attribute, fileType, &value) >= 0 else {
                throw HDF5Error.readFailed(file: self.path, object: "\(Self.displayName(path))@\(name)",
                                           reason: HDF5Library.lastError())
            }
            return value != 0
        }
    }
}

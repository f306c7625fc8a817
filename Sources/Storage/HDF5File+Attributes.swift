@preconcurrency import CHDF5
import CDNCShim

/// Attributes on the root (`/`), groups and datasets: strings, `Int64`/`Int`, `Double`, and
/// one-dimensional arrays of `Double` and `Int64`. Readers accept what h5py and the fixtures
/// write: fixed-length (NULLPAD, NULLTERM or SPACEPAD) and variable-length strings, any integer
/// width for integers, float32 or float64 for doubles (both widen exactly).
extension HDF5File {
    // MARK: Listing

    /// Names of the attributes of the object at `path`, sorted.
    public func attributeNames(at path: String = "/") throws -> [String] {
        try withObject(path) { object, _ in
            final class Names { var list: [String] = [] }
            let names = Names()
            var index: hsize_t = 0
            let status = H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, { _, name, _, context in
                guard let name, let context else { return -1 }
                Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().list.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque())
            guard status >= 0 else {
                throw HDF5Error.readFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
            }
            return withExtendedLifetime(names) { names.list.sorted() }
        }
    }

    public func hasAttribute(_ name: String, at path: String = "/") throws -> Bool {
        try withObject(path) { object, _ in H5Aexists(object, name) > 0 }
    }

    /// The stored element type of an attribute, so a reader of self-describing attributes (a
    /// checkpoint's configuration) can pick the matching `readAttribute`.
    public func attributeElementType(_ name: String, at path: String = "/") throws -> HDF5ElementType {
        try withAttribute(name, at: path) { _, _, stored, _ in stored }
    }

    /// The number of elements of an attribute: 1 for a scalar.
    public func attributeElementCount(_ name: String, at path: String = "/") throws -> Int {
        try withAttribute(name, at: path) { _, _, _, count in count }
    }

    // MARK: Reading

    public func readAttribute(_ name: String, at path: String = "/", as _: String.Type) throws -> String {
        try withAttribute(name, at: path) { attribute, type, stored, count in
            guard stored == .string, count == 1 else {
                throw attributeTypeError(name, path, expected: "string", stored: stored, count: count)
            }
            return H5Tis_variable_str(type) > 0
                ? try readVariableString(attribute, type, name, path)
                : try readFixedString(attribute, type, name, path)
        }
    }

    public func readAttribute(_ name: String, at path: String = "/", as _: Int64.Type) throws -> Int64 {
        let values = try readIntegers(name, at: path, scalar: true)
        return values[0]
    }

    /// The `Int64` reader as `Int` (sizes and counts in the fixtures are read this way).
    public func readAttribute(_ name: String, at path: String = "/", as _: Int.Type) throws -> Int {
        Int(try readAttribute(name, at: path, as: Int64.self))
    }

    public func readAttribute(_ name: String, at path: String = "/", as _: Double.Type) throws -> Double {
        let values = try readDoubles(name, at: path, scalar: true)
        return values[0]
    }

    /// All elements, row-major, whatever the attribute's rank (a scalar gives one element).
    public func readAttribute(_ name: String, at path: String = "/", as _: [Double].Type) throws -> [Double] {
        try readDoubles(name, at: path, scalar: false)
    }

    /// All elements, row-major, whatever the attribute's rank (a scalar gives one element).
    public func readAttribute(_ name: String, at path: String = "/", as _: [Int64].Type) throws -> [Int64] {
        try readIntegers(name, at: path, scalar: false)
    }

    // MARK: Writing (an existing attribute of the same name is replaced, whatever its type)

    /// Writes a scalar string attribute. Variable-length UTF-8 by default, which h5py reads back
    /// as `str`; `fixedLength: true` writes the fixed-length NULLPAD form the fixtures use
    /// (h5py reads that as `bytes`).
    public func writeAttribute(_ name: String, _ value: String, at path: String = "/", fixedLength: Bool = false) throws {
        let type = H5Tcopy(dnc_h5t_c_s1())
        guard type >= 0 else {
            throw HDF5Error.writeFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        defer { H5Tclose(type) }
        let bytes = Array(value.utf8)
        H5Tset_cset(type, bytes.allSatisfy { $0 < 0x80 } ? H5T_CSET_ASCII : H5T_CSET_UTF8)
        if fixedLength {
            // HDF5 rejects zero-size string types; one NUL pad byte reads back as "".
            H5Tset_size(type, max(bytes.count, 1))
            H5Tset_strpad(type, H5T_STR_NULLPAD)
            let padded = bytes.isEmpty ? [UInt8(0)] : bytes
            try padded.withUnsafeBytes { try writeAttributeData(name, at: path, shape: [], type: type, data: $0.baseAddress) }
        } else {
            H5Tset_size(type, dnc_h5t_variable())
            try value.withCString { text in
                var pointer: UnsafePointer<CChar>? = text
                try withUnsafePointer(to: &pointer) { try writeAttributeData(name, at: path, shape: [], type: type, data: $0) }
            }
        }
    }

    public func writeAttribute(_ name: String, _ value: Int64, at path: String = "/") throws {
        try writeAttribute(name, [value], at: path, shape: [])
    }

    public func writeAttribute(_ name: String, _ value: Int, at path: String = "/") throws {
        try writeAttribute(name, [Int64(value)], at: path, shape: [])
    }

    public func writeAttribute(_ name: String, _ value: Double, at path: String = "/") throws {
        try writeAttribute(name, [value], at: path, shape: [])
    }

    /// Writes a one-dimensional attribute of `values.count` elements.
    public func writeAttribute(_ name: String, _ values: [Double], at path: String = "/") throws {
        try writeAttribute(name, values, at: path, shape: [values.count])
    }

    /// Writes a one-dimensional attribute of `values.count` elements.
    public func writeAttribute(_ name: String, _ values: [Int64], at path: String = "/") throws {
        try writeAttribute(name, values, at: path, shape: [values.count])
    }

    private func writeAttribute(_ name: String, _ values: [Int64], at path: String, shape: [Int]) throws {
        try values.withUnsafeBytes {
            try writeAttributeData(name, at: path, shape: shape, type: dnc_h5t_native_int64(), data: $0.baseAddress)
        }
    }

    private func writeAttribute(_ name: String, _ values: [Double], at path: String, shape: [Int]) throws {
        try values.withUnsafeBytes {
            try writeAttributeData(name, at: path, shape: shape, type: dnc_h5t_native_double(), data: $0.baseAddress)
        }
    }

    /// Creates (replacing any old one) the attribute with the given shape and file type `type`
    /// and writes `data`, which is in the same type.
    func writeAttributeData(_ name: String, at path: String, shape: [Int], type: hid_t, data: UnsafeRawPointer?) throws {
        try requireWritable(Self.displayName(path))
        try withObject(path) { object, _ in
            let fail = { HDF5Error.writeFailed(file: self.path, object: "\(Self.displayName(path))@\(name)",
                                               reason: HDF5Library.lastError()) }
            if H5Aexists(object, name) > 0, H5Adelete(object, name) < 0 { throw fail() }
            let space = HDF5Library.makeSpace(shape)
            guard space >= 0 else { throw fail() }
            defer { H5Sclose(space) }
            let attribute = H5Acreate2(object, name, type, space, HDF5Library.defaultList, HDF5Library.defaultList)
            guard attribute >= 0 else { throw fail() }
            defer { H5Aclose(attribute) }
            if HDF5Library.elementCount(shape) != 0, H5Awrite(attribute, type, data) < 0 { throw fail() }
        }
    }

    // MARK: Reading helpers

    /// Opens attribute `name` of the object at `path` and passes it with its file type, stored
    /// element type and element count (1 for a scalar).
    func withAttribute<R>(_ name: String, at path: String,
                                  _ body: (hid_t, hid_t, HDF5ElementType, Int) throws -> R) throws -> R {
        try withObject(path) { object, _ in
            guard H5Aexists(object, name) > 0 else {
                throw HDF5Error.attributeMissing(file: self.path, object: Self.displayName(path), name: name)
            }
            let fail = { HDF5Error.readFailed(file: self.path, object: "\(Self.displayName(path))@\(name)",
                                              reason: HDF5Library.lastError()) }
            let attribute = H5Aopen(object, name, HDF5Library.defaultList)
            guard attribute >= 0 else { throw fail() }
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            guard type >= 0 else { throw fail() }
            defer { H5Tclose(type) }
            let space = H5Aget_space(attribute)
            guard space >= 0 else { throw fail() }
            defer { H5Sclose(space) }
            let count = HDF5Library.shape(ofSpace: space).flatMap(HDF5Library.elementCount) ?? 0
            return try body(attribute, type, HDF5ElementType(typeID: type), count)
        }
    }

    func attributeTypeError(_ name: String, _ path: String, expected: String,
                                    stored: HDF5ElementType, count: Int) -> HDF5Error {
        .attributeWrongType(file: self.path, object: Self.displayName(path), name: name, expected: expected,
                            found: count == 1 ? stored.description : "\(stored) with \(count) elements")
    }

    private func readIntegers(_ name: String, at path: String, scalar: Bool) throws -> [Int64] {
        try withAttribute(name, at: path) { attribute, _, stored, count in
            guard case .integer(let bytes, _) = stored, bytes <= 8, !scalar || count == 1 else {
                throw attributeTypeError(name, path, expected: scalar ? "int64" : "int64 array", stored: stored, count: count)
            }
            return try readNumbers(attribute, count: count, type: dnc_h5t_native_int64(), name, path)
        }
    }

    private func readDoubles(_ name: String, at path: String, scalar: Bool) throws -> [Double] {
        try withAttribute(name, at: path) { attribute, _, stored, count in
            guard stored == .float64 || stored == .float32, !scalar || count == 1 else {
                throw attributeTypeError(name, path, expected: scalar ? "float64" : "float64 array", stored: stored, count: count)
            }
            return try readNumbers(attribute, count: count, type: dnc_h5t_native_double(), name, path)
        }
    }

    private func readNumbers<E: Numeric>(_ attribute: hid_t, count: Int, type: hid_t, _ name: String, _ path: String) throws -> [E] {
        var values = [E](repeating: 0, count: count)
        guard count > 0 else { return values }
        guard values.withUnsafeMutableBytes({ H5Aread(attribute, type, $0.baseAddress) }) >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: "\(Self.displayName(path))@\(name)", reason: HDF5Library.lastError())
        }
        return values
    }

    /// HDF5 allocates the string; it must go back through `H5free_memory`, not Swift's free.
    private func readVariableString(_ attribute: hid_t, _ fileType: hid_t, _ name: String, _ path: String) throws -> String {
        let fail = { HDF5Error.readFailed(file: self.path, object: "\(Self.displayName(path))@\(name)",
                                          reason: HDF5Library.lastError()) }
        let memoryType = H5Tcopy(dnc_h5t_c_s1())
        guard memoryType >= 0 else { throw fail() }
        defer { H5Tclose(memoryType) }
        H5Tset_size(memoryType, dnc_h5t_variable())
        H5Tset_cset(memoryType, H5Tget_cset(fileType))
        var pointer: UnsafeMutablePointer<CChar>? = nil
        guard H5Aread(attribute, memoryType, &pointer) >= 0 else { throw fail() }
        guard let pointer else { return "" }
        defer { H5free_memory(pointer) }
        return String(cString: pointer)
    }

    /// Fixed-length strings come padded: cut at the first NUL (NULLTERM/NULLPAD) and drop
    /// trailing blanks for SPACEPAD.
    private func readFixedString(_ attribute: hid_t, _ fileType: hid_t, _ name: String, _ path: String) throws -> String {
        let size = H5Tget_size(fileType)
        var bytes = [UInt8](repeating: 0, count: max(size, 1))
        guard bytes.withUnsafeMutableBytes({ H5Aread(attribute, fileType, $0.baseAddress) }) >= 0 else {
            throw HDF5Error.readFailed(file: self.path, object: "\(Self.displayName(path))@\(name)", reason: HDF5Library.lastError())
        }
        var text = bytes.prefix { $0 != 0 }
        if H5Tget_strpad(fileType) == H5T_STR_SPACEPAD {
            while text.last == 0x20 { text = text.dropLast() }
        }
        return String(decoding: text, as: UTF8.self)
    }
}

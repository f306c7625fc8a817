@preconcurrency import CHDF5
import CDNCShim

/// One-dimensional string attributes, such as axis names `["step", "cell", "word"]` or the
/// order of a checkpoint's parameters. Written as variable-length UTF-8 strings, which h5py
/// reads as an array of `str` and MATLAB as a cell array; read back from variable- or
/// fixed-length strings of any padding, so files written by h5py work too.
extension HDF5File {
    /// Writes `values` as a one-dimensional attribute (replacing any attribute of that name).
    public func writeAttribute(_ name: String, _ values: [String], at path: String = "/") throws {
        let type = H5Tcopy(dnc_h5t_c_s1())
        guard type >= 0 else {
            throw HDF5Error.writeFailed(file: self.path, object: Self.displayName(path), reason: HDF5Library.lastError())
        }
        defer { H5Tclose(type) }
        H5Tset_size(type, dnc_h5t_variable())
        H5Tset_cset(type, values.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } } ? H5T_CSET_ASCII : H5T_CSET_UTF8)
        // All strings NUL-terminated in one buffer, with a pointer to each start: HDF5 copies
        // them during the write, so they only need to live through it.
        var text: [CChar] = []
        var starts: [Int] = []
        for value in values {
            starts.append(text.count)
            text.append(contentsOf: value.utf8.map { CChar(bitPattern: $0) })
            text.append(0)
        }
        try text.withUnsafeBufferPointer { buffer in
            let pointers: [UnsafePointer<CChar>?] = starts.map { start in buffer.baseAddress.map { $0 + start } }
            try pointers.withUnsafeBytes { raw in
                try writeAttributeData(name, at: path, shape: [values.count], type: type, data: raw.baseAddress)
            }
        }
    }

    /// All elements of a string attribute, row-major (a scalar string gives one element).
    public func readAttribute(_ name: String, at path: String = "/", as _: [String].Type) throws -> [String] {
        try withAttribute(name, at: path) { attribute, fileType, stored, count in
            guard stored == .string else {
                throw attributeTypeError(name, path, expected: "string array", stored: stored, count: count)
            }
            let fail = { HDF5Error.readFailed(file: self.path, object: "\(Self.displayName(path))@\(name)",
                                              reason: HDF5Library.lastError()) }
            guard count > 0 else { return [] }
            if H5Tis_variable_str(fileType) > 0 {
                let memoryType = H5Tcopy(dnc_h5t_c_s1())
                guard memoryType >= 0 else { throw fail() }
                defer { H5Tclose(memoryType) }
                H5Tset_size(memoryType, dnc_h5t_variable())
                H5Tset_cset(memoryType, H5Tget_cset(fileType))
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                guard pointers.withUnsafeMutableBytes({ H5Aread(attribute, memoryType, $0.baseAddress) }) >= 0 else { throw fail() }
                // HDF5 allocated each string; they go back through H5free_memory.
                defer { for pointer in pointers where pointer != nil { H5free_memory(pointer) } }
                return pointers.map { $0.map { String(cString: $0) } ?? "" }
            }
            let size = H5Tget_size(fileType)
            var bytes = [UInt8](repeating: 0, count: max(size * count, 1))
            guard bytes.withUnsafeMutableBytes({ H5Aread(attribute, fileType, $0.baseAddress) }) >= 0 else { throw fail() }
            let spacePadded = H5Tget_strpad(fileType) == H5T_STR_SPACEPAD
            return (0..<count).map { index in
                var element = bytes[(index * size)..<((index + 1) * size)].prefix { $0 != 0 }
                if spacePadded { while element.last == 0x20 { element = element.dropLast() } }
                return String(decoding: element, as: UTF8.self)
            }
        }
    }
}

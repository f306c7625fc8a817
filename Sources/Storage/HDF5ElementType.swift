@preconcurrency import CHDF5

/// The element type of a dataset or attribute as stored in the file, independent of byte order.
///
/// Callers use it to decide between the strict and the converting readers, and errors use its
/// description (`float64`, `int32`, `uint8`, `string`) to say what was found.
public enum HDF5ElementType: Equatable, Hashable, Sendable, CustomStringConvertible {
    case float32
    case float64
    case integer(bytes: Int, signed: Bool)
    case string
    /// h5py's boolean: an enum over a one-byte integer with exactly the members FALSE = 0 and
    /// TRUE = 1 (numpy `bool` round-trips through it; MATLAB sees the enum).
    case boolean
    /// Anything else (other float widths, compound, enum, array, reference...), by its class name.
    case other(String)

    public static let int64 = HDF5ElementType.integer(bytes: 8, signed: true)

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .integer(let bytes, let signed): return "\(signed ? "int" : "uint")\(bytes * 8)"
        case .string: return "string"
        case .boolean: return "bool"
        case .other(let name): return name
        }
    }

    /// Classifies an open HDF5 datatype id.
    init(typeID: hid_t) {
        let size = H5Tget_size(typeID)
        switch H5Tget_class(typeID) {
        case H5T_FLOAT:
            switch size {
            case 4: self = .float32
            case 8: self = .float64
            default: self = .other("float\(size * 8)")
            }
        case H5T_INTEGER:
            self = .integer(bytes: size, signed: H5Tget_sign(typeID) != H5T_SGN_NONE)
        case H5T_STRING: self = .string
        case H5T_COMPOUND: self = .other("compound")
        case H5T_ENUM: self = Self.isBooleanEnum(typeID) ? .boolean : .other("enum")
        case H5T_ARRAY: self = .other("array")
        case H5T_VLEN: self = .other("variable-length sequence")
        case H5T_OPAQUE: self = .other("opaque")
        case H5T_BITFIELD: self = .other("bitfield")
        case H5T_REFERENCE: self = .other("reference")
        case H5T_TIME: self = .other("time")
        default: self = .other("unknown type")
        }
    }

    /// Whether an enum type is h5py's boolean: one-byte base, members FALSE = 0 and TRUE = 1.
    static func isBooleanEnum(_ typeID: hid_t) -> Bool {
        guard H5Tget_size(typeID) == 1, H5Tget_nmembers(typeID) == 2 else { return false }
        func name(of value: Int8) -> String? {
            var value = value
            var buffer = [CChar](repeating: 0, count: 8)
            guard H5Tenum_nameof(typeID, &value, &buffer, buffer.count) >= 0 else { return nil }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return name(of: 0) == "FALSE" && name(of: 1) == "TRUE"
    }
}

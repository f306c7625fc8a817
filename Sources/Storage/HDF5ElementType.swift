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
    /// Anything else (other float widths, compound, enum, array, reference...), by its class name.
    case other(String)

    public static let int64 = HDF5ElementType.integer(bytes: 8, signed: true)

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .integer(let bytes, let signed): return "\(signed ? "int" : "uint")\(bytes * 8)"
        case .string: return "string"
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
        case H5T_ENUM: self = .other("enum")
        case H5T_ARRAY: self = .other("array")
        case H5T_VLEN: self = .other("variable-length sequence")
        case H5T_OPAQUE: self = .other("opaque")
        case H5T_BITFIELD: self = .other("bitfield")
        case H5T_REFERENCE: self = .other("reference")
        case H5T_TIME: self = .other("time")
        default: self = .other("unknown type")
        }
    }
}

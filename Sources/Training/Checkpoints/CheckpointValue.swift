/// One run-configuration setting as a checkpoint stores it: a root attribute of the matching
/// HDF5 type (string: variable-length UTF-8; int: int64; double: float64; bool: h5py's
/// boolean enum), so h5py returns `str`, `numpy.int64`, `numpy.float64` and `numpy.bool_`, and
/// the kind survives the round trip.
public enum CheckpointValue: Hashable, Sendable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)

    public var description: String {
        switch self {
        case .string(let value): return "\"\(value)\""
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return String(value)
        }
    }
}

/// Everything that can go wrong with an HDF5 file, as a value a caller can match on.
///
/// Each description is one line that names the file and the object, because these errors end up
/// in logs of multi-rank runs where the failing call's context is long gone. Object paths are
/// shown without the leading slash (`params/w`), except the root, shown as `/`.
public enum HDF5Error: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(file: String)
    /// The file exists but could not be opened or created (permissions, already exists, locked).
    case cannotOpen(file: String, reason: String)
    /// The file has no HDF5 signature: it is some other kind of file.
    case notHDF5(file: String)
    /// The file has an HDF5 signature but its structure cannot be read (truncated, damaged).
    case corrupted(file: String, reason: String)
    /// The operation was called after `close()`.
    case fileClosed(file: String)
    case missingObject(file: String, object: String)
    /// The object exists but is a group where a dataset was needed, or the other way round.
    case wrongKind(file: String, object: String, expected: String, found: String)
    /// The dataset's element type is not the one asked for (no silent conversion).
    case wrongType(file: String, object: String, expected: String, found: String)
    case wrongShape(file: String, object: String, expected: [Int], found: [Int])
    case attributeMissing(file: String, object: String, name: String)
    case attributeWrongType(file: String, object: String, name: String, expected: String, found: String)
    /// HDF5 refused to read an object that exists (damaged data, unsupported layout).
    case readFailed(file: String, object: String, reason: String)
    case writeFailed(file: String, object: String, reason: String)
    /// The caller passed something inconsistent, e.g. a shape that does not match the data.
    case invalidArgument(file: String, object: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "HDF5 file '\(file)': no such file"
        case .cannotOpen(let file, let reason):
            return "HDF5 file '\(file)': cannot open: \(reason)"
        case .notHDF5(let file):
            return "HDF5 file '\(file)': not an HDF5 file (no HDF5 signature)"
        case .corrupted(let file, let reason):
            return "HDF5 file '\(file)': file is truncated or damaged: \(reason)"
        case .fileClosed(let file):
            return "HDF5 file '\(file)': used after close()"
        case .missingObject(let file, let object):
            return "HDF5 file '\(file)': no object '\(object)'"
        case .wrongKind(let file, let object, let expected, let found):
            return "HDF5 file '\(file)': '\(object)' is a \(found), expected a \(expected)"
        case .wrongType(let file, let object, let expected, let found):
            return "HDF5 file '\(file)': dataset '\(object)' is \(found), expected \(expected)"
        case .wrongShape(let file, let object, let expected, let found):
            return "HDF5 file '\(file)': dataset '\(object)' has shape \(found), expected \(expected)"
        case .attributeMissing(let file, let object, let name):
            return "HDF5 file '\(file)': '\(object)' has no attribute '\(name)'"
        case .attributeWrongType(let file, let object, let name, let expected, let found):
            return "HDF5 file '\(file)': attribute '\(name)' of '\(object)' is \(found), expected \(expected)"
        case .readFailed(let file, let object, let reason):
            return "HDF5 file '\(file)': cannot read '\(object)': \(reason)"
        case .writeFailed(let file, let object, let reason):
            return "HDF5 file '\(file)': cannot write '\(object)': \(reason)"
        case .invalidArgument(let file, let object, let reason):
            return "HDF5 file '\(file)': '\(object)': \(reason)"
        }
    }
}

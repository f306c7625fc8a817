/// Why a checkpoint could not be written, read or restored.
///
/// Every description is one line naming the file and, where there is one, the object
/// (`params/rnn.weight_ih_l0`, `optimizer/exp_avg`, `format@...` for attributes), because a
/// resumed multi-rank job reports it in a log long after the write.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(file: String)
    /// No HDF5 signature: some other kind of file.
    case notHDF5(file: String)
    /// An HDF5 file whose structure or data cannot be read: truncated, damaged, failed checksum.
    case corrupted(file: String, reason: String)
    /// An HDF5 file that is not a dnc-swift checkpoint (no or another `format` attribute).
    case foreignFile(file: String, reason: String)
    case unsupportedVersion(file: String, found: Int64, supported: Int64)
    /// A group or dataset the format requires is absent.
    case missingObject(file: String, object: String)
    case missingAttribute(file: String, object: String, name: String)
    /// A dataset or attribute holds another element type (e.g. float64 parameters for a Float model).
    case wrongType(file: String, object: String, expected: String, found: String)
    /// A parameter's shape in the checkpoint differs from the model's.
    case shapeMismatch(file: String, parameter: String, checkpoint: [Int], model: [Int])
    /// The model has parameters the checkpoint lacks.
    case missingParameters(file: String, names: [String])
    /// The checkpoint has parameters the model lacks.
    case unexpectedParameters(file: String, names: [String])
    /// Another optimiser algorithm, a missing optimiser state, or buffers of the wrong size.
    case optimiserMismatch(file: String, reason: String)
    /// NaN or ±Inf, which a checkpoint never holds: the writer refuses them, the reader rejects them.
    case nonFinite(file: String, object: String, index: Int)
    /// The contents contradict themselves or the format (inconsistent offsets, bad names, ...).
    case invalidContents(file: String, reason: String)
    /// Creating, syncing, renaming or deleting a checkpoint file failed.
    case ioFailed(file: String, reason: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .notFound(let file), .notHDF5(let file), .corrupted(let file, _), .foreignFile(let file, _),
             .unsupportedVersion(let file, _, _), .missingObject(let file, _), .missingAttribute(let file, _, _),
             .wrongType(let file, _, _, _), .shapeMismatch(let file, _, _, _), .missingParameters(let file, _),
             .unexpectedParameters(let file, _), .optimiserMismatch(let file, _), .nonFinite(let file, _, _),
             .invalidContents(let file, _), .ioFailed(let file, _):
            return file
        }
    }

    public var description: String {
        let prefix = "checkpoint '\(file)': "
        switch self {
        case .notFound:
            return prefix + "no such file"
        case .notHDF5:
            return prefix + "not an HDF5 file"
        case .corrupted(_, let reason):
            return prefix + "file is truncated or damaged: \(reason)"
        case .foreignFile(_, let reason):
            return prefix + "not a dnc-swift checkpoint: \(reason)"
        case .unsupportedVersion(_, let found, let supported):
            return prefix + "format version \(found) is not supported (this build reads version \(supported))"
        case .missingObject(_, let object):
            return prefix + "'\(object)' is missing"
        case .missingAttribute(_, let object, let name):
            return prefix + "'\(object)' has no attribute '\(name)'"
        case .wrongType(_, let object, let expected, let found):
            return prefix + "'\(object)' is \(found), expected \(expected)"
        case .shapeMismatch(_, let parameter, let checkpoint, let model):
            return prefix + "parameter '\(parameter)' has shape \(checkpoint) in the checkpoint but \(model) in the model"
        case .missingParameters(_, let names):
            return prefix + "the model's parameters \(Self.list(names)) are not in the checkpoint"
        case .unexpectedParameters(_, let names):
            return prefix + "the checkpoint's parameters \(Self.list(names)) are not in the model"
        case .optimiserMismatch(_, let reason):
            return prefix + "optimiser state does not fit: \(reason)"
        case .nonFinite(_, let object, let index):
            return prefix + "'\(object)' holds a non-finite value (NaN or Inf) at flat index \(index)"
        case .invalidContents(_, let reason):
            return prefix + reason
        case .ioFailed(_, let reason):
            return prefix + reason
        }
    }

    /// At most eight names, so that a wholly different model still gives a readable line.
    private static func list(_ names: [String]) -> String {
        let shown = names.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > 8 ? "\(shown) and \(names.count - 8) more" : shown
    }
}

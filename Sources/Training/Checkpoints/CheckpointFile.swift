import DNCLayers
import DNCNumerics
import DNCStorage
import Foundation

/// Reads and writes one checkpoint file. Plain HDF5 (1.8 structures, so metadata carries
/// checksums), readable with h5py or MATLAB alone:
///
///     /                        attributes: format = "dnc-swift checkpoint" (string),
///                              format_version = 1 (int64), attributes_checksum (int64: the
///                              bit pattern of `Checkpoint.attributesChecksum`, FNV-1a over
///                              every attribute below that is not a format attribute), then one
///                              attribute per configuration setting (string | int64 | float64 |
///                              h5py bool)
///     /params/                 group; attributes: names (string array: parameter order, which
///                              defines the flat layout), element_count (int64: total elements)
///     /params/<name>           one dataset per parameter, float32 (Float) or float64 (Double),
///                              of the parameter's shape, row-major; attribute offset (int64):
///                              where the parameter starts in the flat layout
///     /optimizer/              group, absent when there is no optimiser state; attributes:
///                              algorithm (string, e.g. "adam"), step (int64: optimiser steps taken)
///     /optimizer/<buffer>      one 1-D dataset per state buffer ("exp_avg", "exp_avg_sq", ...),
///                              (element_count,), same element type, in the flat layout: element
///                              offset(p) + i belongs to element i of parameter p. Per-parameter
///                              views are slices [offset, offset + size) reshaped to the shape
///     /state/                  group; attributes: step (int64: the training step), then the
///                              trainer's counters (int64) and scalars (float64)
///     /<name>_axis<i>, /element  dimension scales (int64 indices) naming each axis of each
///                              parameter and the optimiser buffers' flat axis, so xarray and
///                              netCDF readers name every dimension; not part of the format's
///                              contents (files without them read the same)
///
/// Datasets are chunked with a Fletcher-32 checksum per chunk (optionally gzip too), and the
/// attributes are covered by `attributes_checksum`, so damaged data or configuration fails to
/// read rather than loading as wrong numbers or a different experiment. In h5py:
/// `f["params"].attrs["names"]`, `f["params/rnn.weight_ih_l0"][...]`, `f["state"].attrs["step"]`.
public enum CheckpointFile {
    /// Writes `checkpoint` to a new file at `path` (which must not exist yet) and closes it.
    /// Validates first, so a refused checkpoint (NaN, bad names) creates no file. Not atomic by
    /// itself: `CheckpointDirectory.save` adds the temporary name, fsync and rename.
    public static func write<T: Real>(_ checkpoint: Checkpoint<T>, to path: String,
                                      filters: HDF5Filters = .checksummed) throws(CheckpointError) {
        try checkpoint.validate(file: path)
        try mapping(path) {
            let h5 = try HDF5File(path: path, mode: .createExclusive, format: .checksummed)
            try h5.writeAttribute("format", Checkpoint<T>.formatName)
            try h5.writeAttribute("format_version", Checkpoint<T>.formatVersion)
            try h5.writeAttribute(Checkpoint<T>.attributesChecksumName, Int64(bitPattern: checkpoint.attributesChecksum))
            for (name, value) in checkpoint.configuration.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .string(let text): try h5.writeAttribute(name, text)
                case .int(let number): try h5.writeAttribute(name, number)
                case .double(let number): try h5.writeAttribute(name, number)
                case .bool(let flag): try h5.writeAttribute(name, flag)
                }
            }

            try h5.createGroup("params")
            try h5.writeAttribute("names", checkpoint.parameters.map(\.name), at: "params")
            try h5.writeAttribute("element_count", Int64(checkpoint.parameterCount), at: "params")
            var offset = 0
            for parameter in checkpoint.parameters {
                let object = "params/\(parameter.name)"
                try h5.write(parameter.value, to: object, filters: filters)
                try h5.writeAttribute("offset", Int64(offset), at: object)
                offset += parameter.value.count
                // Named dimensions for netCDF readers, at the root (an ancestor of `params`,
                // whose children the reader checks against `names`).
                if parameter.value.count > 0 {
                    try h5.nameDimensions(of: object, parameter.value.shape.indices.map { "\(parameter.name)_axis\($0)" }, in: "/")
                }
            }

            if let optimiser = checkpoint.optimiser {
                try h5.createGroup("optimizer")
                try h5.writeAttribute("algorithm", optimiser.algorithm, at: "optimizer")
                try h5.writeAttribute("step", Int64(optimiser.step), at: "optimizer")
                for (name, buffer) in optimiser.buffers.sorted(by: { $0.key < $1.key }) {
                    try h5.write(Tensor(shape: [buffer.count], storage: buffer), to: "optimizer/\(name)", filters: filters)
                    // The flat layout's element index, the dimension of every buffer.
                    if !buffer.isEmpty { try h5.nameDimensions(of: "optimizer/\(name)", ["element"], in: "/") }
                }
            }

            try h5.createGroup("state")
            try h5.writeAttribute("step", checkpoint.step, at: "state")
            for (name, value) in checkpoint.counters.sorted(by: { $0.key < $1.key }) {
                try h5.writeAttribute(name, value, at: "state")
            }
            for (name, value) in checkpoint.scalars.sorted(by: { $0.key < $1.key }) {
                try h5.writeAttribute(name, value, at: "state")
            }
            try h5.close()
        }
    }

    /// Reads and fully validates the checkpoint at `path`: format and version, every object the
    /// layout requires, element types (exactly `T`'s), consistent names and offsets, optimiser
    /// buffer sizes, finiteness. It does not compare with a model; `Checkpoint.restore` does.
    public static func read<T: Real>(_ path: String, as _: T.Type = T.self) throws(CheckpointError) -> Checkpoint<T> {
        let (checkpoint, stored): (Checkpoint<T>, Int64) = try mapping(path) {
            let h5 = try HDF5File(path: path, mode: .readOnly)
            // Before HDF5 reads a string: it trusts the global heap's unchecksummed sizes.
            if let problem = HDF5GlobalHeapCheck.problem(inFileAt: path) {
                throw CheckpointError.corrupted(file: path, reason: problem)
            }
            defer { try? h5.close() }
            try checkFormat(h5, path)
            let name = Checkpoint<T>.attributesChecksumName
            guard try h5.hasAttribute(name) else { throw CheckpointError.missingAttribute(file: path, object: "/", name: name) }
            let stored = try h5.readAttribute(name, as: Int64.self)
            let configuration = try readConfiguration(h5, path)
            let parameters: [CheckpointParameter<T>] = try readParameters(h5, path)
            let optimiser: OptimiserState<T>? = try readOptimiser(h5, path)
            let (step, counters, scalars) = try readState(h5, path)
            return (Checkpoint(step: step, configuration: configuration, parameters: parameters,
                               optimiser: optimiser, counters: counters, scalars: scalars), stored)
        }
        try checkpoint.validate(file: path)
        let computed = Int64(bitPattern: checkpoint.attributesChecksum)
        guard computed == stored else {
            throw CheckpointError.corrupted(file: path, reason: "the configuration and state attributes do not match their checksum "
                                            + "(attributes_checksum \(String(UInt64(bitPattern: stored), radix: 16)), "
                                            + "computed \(String(UInt64(bitPattern: computed), radix: 16)))")
        }
        return checkpoint
    }

    /// `read`, then `Checkpoint.restore(into:expectingOptimiser:)`: the parameters land in
    /// `store`, and the returned checkpoint is laid out like the store.
    public static func load<T: Real>(_ path: String, into store: ParameterStore<T>,
                                     expectingOptimiser algorithm: String? = nil) throws(CheckpointError) -> Checkpoint<T> {
        try read(path, as: T.self).restore(into: store, expectingOptimiser: algorithm, file: path)
    }

    // MARK: Reading the parts

    private static func checkFormat(_ h5: HDF5File, _ path: String) throws {
        guard try h5.hasAttribute("format") else { throw CheckpointError.foreignFile(file: path, reason: "no 'format' attribute") }
        let format = try h5.attributeElementType("format") == .string ? try h5.readAttribute("format", as: String.self) : nil
        guard format == Checkpoint<Float>.formatName else {
            let found = format.map { "format is '\($0)'" } ?? "'format' is not a string"
            throw CheckpointError.foreignFile(file: path, reason: "\(found), expected '\(Checkpoint<Float>.formatName)'")
        }
        guard try h5.hasAttribute("format_version") else {
            throw CheckpointError.missingAttribute(file: path, object: "/", name: "format_version")
        }
        let version = try h5.readAttribute("format_version", as: Int64.self)
        guard version == Checkpoint<Float>.formatVersion else {
            throw CheckpointError.unsupportedVersion(file: path, found: version, supported: Checkpoint<Float>.formatVersion)
        }
    }

    private static func readConfiguration(_ h5: HDF5File, _ path: String) throws -> [String: CheckpointValue] {
        var configuration: [String: CheckpointValue] = [:]
        for name in try h5.attributeNames() where !Checkpoint<Float>.reservedConfigurationNames.contains(name) {
            guard try h5.attributeElementCount(name) == 1 else {
                throw CheckpointError.invalidContents(file: path, reason: "configuration attribute '\(name)' is not a scalar")
            }
            switch try h5.attributeElementType(name) {
            case .string: configuration[name] = .string(try h5.readAttribute(name, as: String.self))
            case .integer: configuration[name] = .int(try h5.readAttribute(name, as: Int64.self))
            case .float32, .float64: configuration[name] = .double(try h5.readAttribute(name, as: Double.self))
            case .boolean: configuration[name] = .bool(try h5.readAttribute(name, as: Bool.self))
            case let other:
                throw CheckpointError.wrongType(file: path, object: "@\(name)", expected: "string, int64, float64 or bool",
                                                found: other.description)
            }
        }
        return configuration
    }

    private static func readParameters<T: Real>(_ h5: HDF5File, _ path: String) throws -> [CheckpointParameter<T>] {
        guard try h5.isGroup("params") else { throw CheckpointError.missingObject(file: path, object: "params") }
        let names = try h5.readAttribute("names", at: "params", as: [String].self)
        let listed = Set(names)
        let extra = try h5.children(of: "params").filter { !listed.contains($0) }
        if !extra.isEmpty {
            throw CheckpointError.invalidContents(file: path, reason: "params/\(extra[0]) is not listed in params@names")
        }
        var parameters: [CheckpointParameter<T>] = []
        var offset = 0
        for name in names {
            try Checkpoint<T>.requireValidName(name, what: "parameter", file: path)
            let object = "params/\(name)"
            guard try h5.isDataset(object) else { throw CheckpointError.missingObject(file: path, object: object) }
            let value = try h5.readTensor(object, as: T.self)
            let stored = try h5.readAttribute("offset", at: object, as: Int64.self)
            guard stored == Int64(offset) else {
                throw CheckpointError.invalidContents(file: path, reason: "\(object)@offset is \(stored), the layout puts it at \(offset)")
            }
            offset += value.count
            parameters.append(CheckpointParameter(name: name, value: value))
        }
        let total = try h5.readAttribute("element_count", at: "params", as: Int64.self)
        guard total == Int64(offset) else {
            throw CheckpointError.invalidContents(file: path, reason: "params@element_count is \(total), the parameters hold \(offset)")
        }
        return parameters
    }

    private static func readOptimiser<T: Real>(_ h5: HDF5File, _ path: String) throws -> OptimiserState<T>? {
        guard try h5.exists("optimizer") else { return nil }
        guard try h5.isGroup("optimizer") else {
            throw CheckpointError.invalidContents(file: path, reason: "'optimizer' is not a group")
        }
        let algorithm = try h5.readAttribute("algorithm", at: "optimizer", as: String.self)
        let step = try h5.readAttribute("step", at: "optimizer", as: Int64.self)
        var buffers: [String: [T]] = [:]
        for name in try h5.children(of: "optimizer") {
            let object = "optimizer/\(name)"
            guard try h5.isDataset(object) else {
                throw CheckpointError.invalidContents(file: path, reason: "'\(object)' is not a dataset")
            }
            let buffer = try h5.readTensor(object, as: T.self)
            guard buffer.rank == 1 else {
                throw CheckpointError.optimiserMismatch(file: path, reason: "buffer '\(name)' has shape \(buffer.shape), expected one axis")
            }
            buffers[name] = buffer.storage
        }
        guard let steps = Int(exactly: step) else {
            throw CheckpointError.invalidContents(file: path, reason: "optimizer@step \(step) does not fit Int")
        }
        return OptimiserState(algorithm: algorithm, step: steps, buffers: buffers)
    }

    private static func readState(_ h5: HDF5File, _ path: String) throws -> (Int64, [String: Int64], [String: Double]) {
        guard try h5.isGroup("state") else { throw CheckpointError.missingObject(file: path, object: "state") }
        let step = try h5.readAttribute("step", at: "state", as: Int64.self)
        var counters: [String: Int64] = [:]
        var scalars: [String: Double] = [:]
        for name in try h5.attributeNames(at: "state") where name != "step" {
            guard try h5.attributeElementCount(name, at: "state") == 1 else {
                throw CheckpointError.invalidContents(file: path, reason: "state@\(name) is not a scalar")
            }
            switch try h5.attributeElementType(name, at: "state") {
            case .integer: counters[name] = try h5.readAttribute(name, at: "state", as: Int64.self)
            case .float32, .float64: scalars[name] = try h5.readAttribute(name, at: "state", as: Double.self)
            case let other:
                throw CheckpointError.wrongType(file: path, object: "state@\(name)", expected: "int64 or float64", found: other.description)
            }
        }
        return (step, counters, scalars)
    }

    // MARK: Errors

    /// Runs `body`, turning storage errors into checkpoint errors about `path`.
    static func mapping<R>(_ path: String, _ body: () throws -> R) throws(CheckpointError) -> R {
        do {
            return try body()
        } catch let error as CheckpointError {
            throw error
        } catch let error as HDF5Error {
            throw checkpointError(error, path)
        } catch {
            throw .invalidContents(file: path, reason: String(describing: error))
        }
    }

    private static func checkpointError(_ error: HDF5Error, _ path: String) -> CheckpointError {
        switch error {
        case .fileNotFound: return .notFound(file: path)
        case .notHDF5: return .notHDF5(file: path)
        case .corrupted(_, let reason): return .corrupted(file: path, reason: reason)
        case .readFailed(_, let object, let reason): return .corrupted(file: path, reason: "cannot read '\(object)': \(reason)")
        case .missingObject(_, let object): return .missingObject(file: path, object: object)
        case .attributeMissing(_, let object, let name): return .missingAttribute(file: path, object: object, name: name)
        case .wrongType(_, let object, let expected, let found): return .wrongType(file: path, object: object, expected: expected, found: found)
        case .attributeWrongType(_, let object, let name, let expected, let found):
            return .wrongType(file: path, object: "\(object)@\(name)", expected: expected, found: found)
        case .wrongKind(_, let object, let expected, let found):
            return .invalidContents(file: path, reason: "'\(object)' is a \(found), expected a \(expected)")
        case .wrongShape(_, let object, let expected, let found):
            return .invalidContents(file: path, reason: "'\(object)' has shape \(found), expected \(expected)")
        case .cannotOpen(_, let reason): return .ioFailed(file: path, reason: "cannot open: \(reason)")
        case .writeFailed(_, let object, let reason): return .ioFailed(file: path, reason: "cannot write '\(object)': \(reason)")
        case .fileClosed, .invalidArgument: return .invalidContents(file: path, reason: error.description)
        }
    }
}

import DNCModels
import DNCNumerics
import DNCStorage
import Foundation

/// Writes memory debug tensors (pytorch-dnc's `debug=True` output) to one HDF5 file per rank,
/// `<run directory>/debug-rank<r>.h5`, for inspection with h5py or MATLAB without this code.
///
/// Layout:
///
///     /                                   attributes: format = "dnc-swift debug dump",
///                                         format_version = 1 (int64), rank (int64)
///     /step_<8 digits>/                   one group per dumped training step; attributes
///                                         step (int64), batch_element (int64)
///     /step_<8 digits>/layer_<l>/         one group per DNC layer l = 0, 1, ...; attribute layer
///     /step_<8 digits>/layer_<l>/<key>    dataset (T, ...per-step shape), float32 or float64,
///                                         chunked, shuffle + gzip level 4, first axis
///                                         unlimited (more time steps may be appended);
///                                         attributes axes (string: comma-separated axis
///                                         names), step (int64), batch_element (int64)
///
/// Keys of the dense DNC memory, with per-step shapes (N cells, W word size, R read heads) and
/// the `axes` attribute of each dataset:
///
///     memory              (T, N, W)  "time,cell,word"
///     link_matrix         (T, N, N)  "time,cell_to,cell_from"   L[i, j]: i written after j
///     precedence          (T, 1, N)  "time,one,cell"
///     read_weights        (T, R, N)  "time,head,cell"
///     write_weights       (T, 1, N)  "time,one,cell"
///     usage_vector        (T, 1, N)  "time,one,cell"
///     allocation_weights  (T, 1, N)  "time,one,cell"
///     read_modes          (T, R, 3)  "time,head,mode"  modes: backward, forward, content
///                                    (also the dataset's `modes` attribute)
///     write_gate          (T, 1, 1)  "time,one,one"
///     free_gates          (T, 1, R)  "time,one,head"
///
/// Other keys (other memories) get "time,axis1,axis2,...". The singleton "one" axes keep
/// pytorch-dnc's 2-D debug shapes. Arrays are row-major: h5py returns them as listed; MATLAB's
/// `h5read` returns the axes reversed (word, cell, time for `memory`).
///
/// In h5py: `f["step_00000100/layer_0/memory"][t]` is the memory after time step t.
///
/// The file is flushed after every `write`, so a crashed run keeps the steps dumped before;
/// an HDF5 file open for writing when the process dies can still be damaged, so dumps are for
/// inspection, never for resuming.
public final class DebugDumpWriter {
    public static var formatName: String { "dnc-swift debug dump" }

    /// The axis names of each dense-memory key, time first.
    public static var axes: [String: [String]] {
        [
            "memory": ["time", "cell", "word"],
            "link_matrix": ["time", "cell_to", "cell_from"],
            "precedence": ["time", "one", "cell"],
            "read_weights": ["time", "head", "cell"],
            "write_weights": ["time", "one", "cell"],
            "usage_vector": ["time", "one", "cell"],
            "allocation_weights": ["time", "one", "cell"],
            "read_modes": ["time", "head", "mode"],
            "write_gate": ["time", "one", "one"],
            "free_gates": ["time", "one", "head"],
        ]
    }

    /// `debug-rank<r>.h5`.
    public static func fileName(rank: Int) -> String { "debug-rank\(rank).h5" }

    /// The group of one step: `step_00000042`.
    public static func stepGroup(_ step: Int) -> String {
        let digits = String(step)
        return "step_" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    public let path: String
    public let rank: Int
    public let filters: HDF5Filters
    private let file: HDF5File

    /// Opens `runDirectory/debug-rank<rank>.h5`, creating the directory and file if needed; an
    /// existing dump (a resumed run) is appended to, and a step dumped again is extended. An
    /// existing file that cannot be opened as a debug dump (damaged when the disk filled up or
    /// the process was killed mid-write, or some other file) never blocks the run: it is moved
    /// aside to `<name>.damaged-<unix time>` and `notice` says so in one line.
    public init(runDirectory: String, rank: Int, filters: HDF5Filters = .compressed) throws {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        path = URL(fileURLWithPath: runDirectory, isDirectory: true).appendingPathComponent(Self.fileName(rank: rank)).path
        self.rank = rank
        self.filters = filters
        var existing: HDF5File?
        if FileManager.default.fileExists(atPath: path) {
            do {
                let opened = try HDF5File(path: path, mode: .readWrite)
                let format = try opened.hasAttribute("format") && opened.attributeElementType("format") == .string
                    ? try opened.readAttribute("format", as: String.self) : ""
                guard format == Self.formatName else {
                    try? opened.close()
                    throw HDF5Error.invalidArgument(file: path, object: "/", reason: "is not a debug dump (format '\(format)')")
                }
                existing = opened
            } catch {
                let aside = path + ".damaged-\(Int(Date().timeIntervalSince1970))"
                do {
                    try FileManager.default.moveItem(atPath: path, toPath: aside)
                } catch {
                    throw HDF5Error.cannotOpen(file: path, reason: "unreadable debug dump, and it cannot be moved aside: \(error.localizedDescription)")
                }
                notice = "debug dump '\(path)' is unreadable (\(error)); moved aside to '\(aside)', starting a new one"
            }
        }
        if let existing {
            file = existing
        } else {
            file = try HDF5File(path: path, mode: .create)
            try file.writeAttribute("format", Self.formatName)
            try file.writeAttribute("format_version", Int64(1))
            try file.writeAttribute("rank", rank)
            try file.flush()
        }
    }

    /// What opening did besides opening (a damaged dump moved aside), as one line; nil if nothing.
    public private(set) var notice: String?

    /// Removes the dumps of training steps after `step` (a run resumed from the checkpoint of
    /// `step` dumps them again; without this a run killed after its last checkpoint would hold
    /// them twice). Returns the steps removed.
    @discardableResult
    public func truncate(after step: Int) throws -> [Int] {
        var removed: [Int] = []
        for group in try file.children() where group.hasPrefix("step_") {
            guard let dumped = Int(group.dropFirst("step_".count)), dumped > step else { continue }
            try file.remove(group)
            removed.append(dumped)
        }
        if !removed.isEmpty { try file.flush() }
        return removed.sorted()
    }

    /// Writes time steps of training step `step`: `layers[l][key]` is the sequence of
    /// per-time-step tensors of layer l, all of one shape; `Float` gives float32 datasets,
    /// `Double` float64. Datasets are created on first use; later calls for the same step (a
    /// sequence processed in chunks) append to them along time.
    public func write<T: Real>(step: Int, batchElement: Int, layers: [[String: [Tensor<T>]]]) throws {
        let stepGroup = Self.stepGroup(step)
        if try file.exists(stepGroup) {
            let recorded = try file.readAttribute("batch_element", at: stepGroup, as: Int.self)
            guard recorded == batchElement else {
                throw HDF5Error.invalidArgument(file: path, object: stepGroup,
                                                reason: "holds batch element \(recorded), cannot append batch element \(batchElement)")
            }
        } else {
            try file.createGroup(stepGroup)
            try file.writeAttribute("step", step, at: stepGroup)
            try file.writeAttribute("batch_element", batchElement, at: stepGroup)
        }
        for (layer, sequences) in layers.enumerated() {
            let layerGroup = "\(stepGroup)/layer_\(layer)"
            if try !file.exists(layerGroup) {
                try file.createGroup(layerGroup)
                try file.writeAttribute("layer", layer, at: layerGroup)
            }
            for (key, sequence) in sequences.sorted(by: { $0.key < $1.key }) where !sequence.isEmpty {
                try append(sequence, to: "\(layerGroup)/\(key)", key: key, step: step, batchElement: batchElement)
            }
        }
        try file.flush()
    }

    /// Writes a model's debug trace (every time step, every DNC layer) for `step`.
    public func write<T: Real>(step: Int, trace: DNCTrace<T>) throws {
        let records = trace.fieldRecords
        let layerCount = records.first?.count ?? 0
        let layers = (0..<layerCount).map { layer in
            var sequences: [String: [Tensor<T>]] = [:]
            for step in records {
                for field in step[layer] { sequences[field.key, default: []].append(field.value) }
            }
            return sequences
        }
        try write(step: step, batchElement: trace.batchElement, layers: layers)
    }

    /// Flushes and closes the file; the writer cannot be used afterwards.
    public func close() throws { try file.close() }

    private func append<T: Real>(_ sequence: [Tensor<T>], to object: String, key: String, step: Int, batchElement: Int) throws {
        let rowShape = sequence[0].shape
        if let other = sequence.first(where: { $0.shape != rowShape }) {
            throw HDF5Error.invalidArgument(file: path, object: object,
                                            reason: "time steps have different shapes, \(rowShape) and \(other.shape)")
        }
        if try !file.exists(object) {
            let elementType: HDF5ElementType = T.self == Double.self ? .float64 : .float32
            try file.createExtendibleDataset(object, rowShape: rowShape, elementType: elementType, filters: filters)
            try file.writeAttribute("axes", Self.axisNames(key: key, rank: rowShape.count).joined(separator: ","), at: object)
            try file.writeAttribute("step", step, at: object)
            try file.writeAttribute("batch_element", batchElement, at: object)
            if key == "read_modes" { try file.writeAttribute("modes", "backward,forward,content", at: object) }
        }
        try file.appendRows(Tensor(shape: [sequence.count] + rowShape, storage: sequence.flatMap(\.storage)), to: object)
    }

    /// The documented axes of `key`, or generic names when the key is unknown or its rank differs.
    static func axisNames(key: String, rank: Int) -> [String] {
        if let known = axes[key], known.count == rank + 1 { return known }
        return ["time"] + (0..<rank).map { "axis\($0 + 1)" }
    }
}

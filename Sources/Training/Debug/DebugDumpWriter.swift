import DNCMemories
import DNCModels
import DNCNumerics
import DNCStorage
import Foundation

/// Writes memory debug tensors (pytorch-dnc's `debug=True` output) to one HDF5 file per rank,
/// `<run directory>/debug-rank<r>.h5`, for inspection with h5py, xarray, netCDF tools or MATLAB
/// without this code. The file is self-describing: every axis of every dataset is a named
/// dimension (an HDF5 dimension scale, as in netCDF-4), so `xarray.open_dataset(path,
/// group="step_00000100/layer_0", engine="h5netcdf")` names them, and `h5dump -A` lists them.
///
/// Layout:
///
///     /                                   attributes: format = "dnc-swift debug dump",
///                                         format_version = 2 (int64), rank (int64)
///     /step_<8 digits>/                   one group per dumped training step; attributes
///                                         step (int64), batch_element (int64), format_version
///                                         (int64, 2: a resumed run of an earlier version
///                                         appends version-2 steps to its dump). Also holds the
///                                         dimension scales of its layers' axes (`time`,
///                                         `cell`, `word`, ...: int64 indices 0 ..< length)
///     /step_<8 digits>/layer_<l>/         one group per DNC layer l = 0, 1, ...; attribute layer
///     /step_<8 digits>/layer_<l>/<key>    dataset (T, ...per-step shape), float32 or float64
///                                         (int64 for cell positions), chunked, shuffle + gzip
///                                         level 4, first axis unlimited (more time steps may
///                                         be appended); attributes axes (string:
///                                         comma-separated axis names, the same as the attached
///                                         dimensions), step (int64), batch_element (int64);
///                                         positions also empty_position = −1 (int64)
///     /step_<8 digits>/sample/            the recorded sample: input (time, input_feature),
///                                         target (task-defined axes), output (time,
///                                         output_feature: the logits), mask (time) where the
///                                         task masks its loss, with their own dimensions
///
/// Keys of the dense DNC memory, with per-step shapes (N cells, W word size, R read heads) and
/// the `axes` attribute of each dataset (`MemoryDebugRecord.axes` with time first):
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
///     write_gate          (T, 1, 1)  "time,one,gate"
///     free_gates          (T, 1, R)  "time,one,head"
///
/// Keys of the sparse memories (SAM; the SDNC adds the last five), m = R·K+1 cells written,
/// K slots per head (K + 2K_L for the SDNC), c = R·K read slots (`SparseMemoryDebugRecord.axes`):
///
///     memory               (T, m, W)  "time,memory_row,word"  (or the memory window's rows)
///     write_positions      (T, 1, m)  "time,one,written"      int64, −1: no write
///     write_weights        (T, 1, m)  "time,one,written"
///     visible_memory       (T, c, W)  "time,read_slot,word"
///     read_positions       (T, R, K)  "time,head,slot"         int64, −1: empty slot
///     read_weights         (T, R, K)  "time,head,slot"
///     usage                (T, R, K)  "time,head,slot"
///     least_used_mem       (T, 1, 1)  "time,one,least_used"    int64
///     read_modes           (T, R, 3)  "time,head,mode"
///     link_matrix          (T, c, c)  "time,read_slot_to,read_slot_from"
///     rev_link_matrix      (T, c, c)  "time,read_slot_to,read_slot_from"
///     precedence           (T, 1, K_L) "time,one,precedence_slot"
///     precedence_positions (T, 1, K_L) "time,one,precedence_slot"  int64, −1: empty slot
///
/// Other keys get "time,axis1,axis2,...". The singleton "one" axes keep pytorch-dnc's 2-D
/// debug shapes. Arrays are row-major: h5py returns them as listed; MATLAB's `h5read` returns
/// the axes reversed (word, cell, time for `memory`).
///
/// In h5py: `f["step_00000100/layer_0/memory"][t]` is the memory after time step t, and
/// `f["step_00000100/layer_0/memory"].dims[1][0].name` is `/step_00000100/cell`.
///
/// The file is flushed after every `write`, so a crashed run keeps the steps dumped before;
/// an HDF5 file open for writing when the process dies can still be damaged, so dumps are for
/// inspection, never for resuming.
public final class DebugDumpWriter {
    public static var formatName: String { "dnc-swift debug dump" }

    /// The axis names of each dense-memory key, time first.
    public static var axes: [String: [String]] { MemoryDebugRecord<Float>.axes.mapValues { ["time"] + $0 } }

    /// The attribute naming the value that marks an empty slot in a positions dataset.
    public static var emptyPositionAttribute: String { "empty_position" }

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
            try file.writeAttribute("format_version", Int64(2))
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
    /// `Double` float64, and keys in `positionKeys` int64 (cell indices). `axes[key]` names a
    /// key's per-step axes (by default the dense memory's). Datasets are created on first use;
    /// later calls for the same step (a sequence processed in chunks) append to them along time.
    public func write<T: Real>(step: Int, batchElement: Int, layers: [[String: [Tensor<T>]]],
                               axes: [String: [String]] = MemoryDebugRecord<T>.axes, positionKeys: Set<String> = [],
                               sample: DebugSample? = nil) throws {
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
            // A run resumed from an earlier version appends to its dump, whose root says
            // format_version 1: each step says which layout it has.
            try file.writeAttribute("format_version", Int64(2), at: stepGroup)
        }
        for (layer, sequences) in layers.enumerated() {
            let layerGroup = "\(stepGroup)/layer_\(layer)"
            if try !file.exists(layerGroup) {
                try file.createGroup(layerGroup)
                try file.writeAttribute("layer", layer, at: layerGroup)
            }
            for (key, sequence) in sequences.sorted(by: { $0.key < $1.key }) where !sequence.isEmpty {
                try append(sequence, to: "\(layerGroup)/\(key)", key: key, axes: axes[key], isPosition: positionKeys.contains(key),
                           stepGroup: stepGroup, step: step, batchElement: batchElement)
            }
        }
        if let sample { try write(sample, in: "\(stepGroup)/sample") }
        try file.flush()
    }

    /// Writes a model's debug trace (every time step, every DNC layer) for `step`, and the
    /// sample it recorded.
    public func write<T: Real>(step: Int, trace: DNCTrace<T>, sample: DebugSample? = nil) throws {
        let records = trace.fieldRecords
        let layerCount = records.first?.count ?? 0
        let layers = (0..<layerCount).map { layer in
            var sequences: [String: [Tensor<T>]] = [:]
            for step in records {
                for field in step[layer] { sequences[field.key, default: []].append(field.value) }
            }
            return sequences
        }
        let first = trace.records.first?.first
        try write(step: step, batchElement: trace.batchElement, layers: layers,
                  axes: first?.axes ?? MemoryDebugRecord<T>.axes, positionKeys: first?.positionKeys ?? [], sample: sample)
    }

    /// Flushes and closes the file; the writer cannot be used afterwards.
    public func close() throws { try file.close() }

    private func append<T: Real>(_ sequence: [Tensor<T>], to object: String, key: String, axes: [String]?, isPosition: Bool,
                                 stepGroup: String, step: Int, batchElement: Int) throws {
        let rowShape = sequence[0].shape
        if let other = sequence.first(where: { $0.shape != rowShape }) {
            throw HDF5Error.invalidArgument(file: path, object: object,
                                            reason: "time steps have different shapes, \(rowShape) and \(other.shape)")
        }
        let names = Self.axisNames(axes, rank: rowShape.count)
        if try !file.exists(object) {
            let elementType: HDF5ElementType = isPosition ? .int64 : T.self == Double.self ? .float64 : .float32
            try file.createExtendibleDataset(object, rowShape: rowShape, elementType: elementType, filters: filters)
            try file.writeAttribute("axes", names.joined(separator: ","), at: object)
            try file.writeAttribute("step", step, at: object)
            try file.writeAttribute("batch_element", batchElement, at: object)
            if key == "read_modes" { try file.writeAttribute("modes", "backward,forward,content", at: object) }
            if isPosition { try file.writeAttribute(Self.emptyPositionAttribute, Int64(-1), at: object) }
            try file.nameDimensions(of: object, names, in: stepGroup)
        }
        if isPosition {
            // Positions are whole cell indices carried as the memory's scalar; −1 stays −1.
            try file.appendRows(ints: sequence.flatMap(\.storage).map { Int64(($0 as T).rounded()) }, to: object)
        } else {
            try file.appendRows(Tensor(shape: [sequence.count] + rowShape, storage: sequence.flatMap(\.storage)), to: object)
        }
        try file.growDimensionScale("\(stepGroup)/time", to: file.rowCount(of: object))
    }

    /// Writes the recorded sample's tensors into `group`, which holds their dimensions: the
    /// target's axes are the task's own, so they may not match the memory's time.
    private func write(_ sample: DebugSample, in group: String) throws {
        guard try !file.exists(group) else { return }
        try file.createGroup(group)
        // A tensor's first axis is the input's time when it has the input's length.
        func names(_ name: String, _ tensor: Tensor<Float>, _ feature: String) -> [String] {
            let first = tensor.shape.first == sample.input.shape.first ? "time" : "\(name)_row"
            return tensor.shape.count <= 1 ? [first] : [first, feature] + (2..<tensor.shape.count).map { "\(name)_axis\($0)" }
        }
        var tensors: [(String, Tensor<Float>, [String])] = [
            ("input", sample.input, names("input", sample.input, "input_feature")),
            ("output", sample.output, names("output", sample.output, "output_feature")),
            ("target", sample.target, names("target", sample.target, "target_feature"))]
        if let mask = sample.mask { tensors.append(("mask", mask, names("mask", mask, "mask_feature"))) }
        for (name, tensor, axes) in tensors where axes.count == tensor.shape.count && !tensor.shape.contains(0) {
            let object = "\(group)/\(name)"
            try file.write(tensor, to: object, filters: filters)
            try file.writeAttribute("axes", axes.joined(separator: ","), at: object)
            try file.nameDimensions(of: object, axes, in: group)
        }
    }

    /// The given axes of a key with time first, or generic names when unknown or of another rank.
    static func axisNames(_ known: [String]?, rank: Int) -> [String] {
        if let known, known.count == rank { return ["time"] + known }
        return ["time"] + (0..<rank).map { "axis\($0 + 1)" }
    }
}

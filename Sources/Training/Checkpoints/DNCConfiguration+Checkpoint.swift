import DNCLayers
import DNCMemories
import DNCModels

/// A `DNCConfiguration` as checkpoint configuration attributes (`dnc.<pytorch-dnc constructor
/// name>`, plus `dnc.memory`, `dnc.index`, `dnc.preset`), so that `DNC.load(checkpoint:)` can
/// rebuild the model a file holds without the code that built it. Readable in h5py:
/// `f.attrs["dnc.nr_cells"]`.
extension DNCConfiguration {
    /// The attribute that marks a checkpoint written by `DNC.save(to:)`.
    static var checkpointMarker: String { "dnc.input_size" }

    /// The attributes; throws for what a file cannot describe (a `memoryOptionsOverride`).
    func checkpointAttributes(file: String) throws(CheckpointError) -> [String: CheckpointValue] {
        guard memoryOptionsOverride == nil else {
            throw .invalidContents(file: file, reason: "a DNC with memoryOptionsOverride cannot be saved (only the presets' memory options are recorded)")
        }
        var values: [String: CheckpointValue] = [
            "dnc.input_size": .int(Int64(inputSize)), "dnc.hidden_size": .int(Int64(hiddenSize)), "dnc.rnn_type": .string(Self.name(of: cell)),
            "dnc.num_layers": .int(Int64(layerCount)), "dnc.num_hidden_layers": .int(Int64(controllerDepth)),
            "dnc.bias": .bool(controllerBias), "dnc.dropout": .double(dropout), "dnc.nr_cells": .int(Int64(cellCount)),
            "dnc.cell_size": .int(Int64(cellWidth)), "dnc.read_heads": .int(Int64(readHeads)),
            "dnc.independent_linears": .bool(independentLinears),
            "dnc.share_memory_between_layers": .bool(shareMemoryBetweenLayers), "dnc.clip": .double(controllerOutputClip),
            "dnc.batch_first": .bool(batchFirst), "dnc.preset": .string(preset.rawValue),
        ]
        // Absent: the input width, as pytorch-dnc always does.
        if let outputSize { values["dnc.output_size"] = .int(Int64(outputSize)) }
        // DNC-MD's options only when on, so that a DNC's checkpoint is what it was before they existed
        // (and one without them reads as off).
        for (setting, on) in improvementSettings where on { values["dnc.\(setting.constructorName)"] = .bool(true) }
        let index: SparseIndexKind?
        switch memoryKind {
        case .dense:
            values["dnc.memory"] = .string("dense")
            index = nil
        case .sparse(let reads, let kind):
            values["dnc.memory"] = .string("sparse")
            values["dnc.sparse_reads"] = .int(Int64(reads))
            index = kind
        case .sparseTemporal(let reads, let temporalReads, let kind):
            values["dnc.memory"] = .string("sparse_temporal")
            values["dnc.sparse_reads"] = .int(Int64(reads))
            values["dnc.temporal_reads"] = .int(Int64(temporalReads))
            index = kind
        }
        switch index {
        case nil: break
        case .exact?: values["dnc.index"] = .string("exact")
        case .approximate(let options)?:
            values["dnc.index"] = .string("approximate")
            if let lists = options.lists { values["dnc.index_lists"] = .int(Int64(lists)) }
            values["dnc.index_probes"] = .int(Int64(options.probes))
            values["dnc.index_kmeans_iterations"] = .int(Int64(options.kMeansIterations))
            values["dnc.index_minimum_build_size"] = .int(Int64(options.minimumBuildSize))
            values["dnc.index_shortlist"] = .int(Int64(options.shortlist))
        }
        return values
    }

    /// The configuration `checkpointAttributes` recorded; every problem names the file and the attribute.
    init(checkpointAttributes values: [String: CheckpointValue], file: String) throws(CheckpointError) {
        func missing(_ name: String) -> CheckpointError { .missingAttribute(file: file, object: "/", name: name) }
        func int(_ name: String) throws(CheckpointError) -> Int {
            guard let value = values[name] else { throw missing(name) }
            guard case .int(let number) = value, let result = Int(exactly: number) else {
                throw .wrongType(file: file, object: "@\(name)", expected: "int64", found: "\(value)")
            }
            return result
        }
        func double(_ name: String) throws(CheckpointError) -> Double {
            guard let value = values[name] else { throw missing(name) }
            switch value {
            case .double(let number): return number
            case .int(let number): return Double(number)
            default: throw .wrongType(file: file, object: "@\(name)", expected: "float64", found: "\(value)")
            }
        }
        func bool(_ name: String) throws(CheckpointError) -> Bool {
            guard let value = values[name] else { throw missing(name) }
            guard case .bool(let flag) = value else { throw .wrongType(file: file, object: "@\(name)", expected: "bool", found: "\(value)") }
            return flag
        }
        func text(_ name: String, accepted: [String]) throws(CheckpointError) -> String {
            guard let value = values[name] else { throw missing(name) }
            guard case .string(let word) = value, accepted.contains(word) else {
                throw .invalidContents(file: file, reason: "attribute '\(name)' is \(value), accepted: \(accepted.joined(separator: ", "))")
            }
            return word
        }
        self.init(inputSize: try int("dnc.input_size"), hiddenSize: try int("dnc.hidden_size"))
        if values["dnc.output_size"] != nil { outputSize = try int("dnc.output_size") }
        let cellName = try text("dnc.rnn_type", accepted: Self.cellNames)
        cell = cellName == "lstm" ? .lstm : cellName == "gru" ? .gru : .rnn(cellName == "rnn_relu" ? .relu : .tanh)
        layerCount = try int("dnc.num_layers")
        controllerDepth = try int("dnc.num_hidden_layers")
        controllerBias = try bool("dnc.bias")
        dropout = try double("dnc.dropout")
        cellCount = try int("dnc.nr_cells")
        cellWidth = try int("dnc.cell_size")
        readHeads = try int("dnc.read_heads")
        independentLinears = try bool("dnc.independent_linears")
        shareMemoryBetweenLayers = try bool("dnc.share_memory_between_layers")
        controllerOutputClip = try double("dnc.clip")
        func flag(_ setting: Setting) throws(CheckpointError) -> Bool {
            let name = "dnc.\(setting.constructorName)"
            return values[name] == nil ? false : try bool(name)
        }
        memoryImprovements = MemoryImprovements(maskedContentLookup: try flag(.maskedContentLookup),
                                                deallocation: try flag(.deallocation), linkSharpness: try flag(.linkSharpness))
        batchFirst = try bool("dnc.batch_first")
        preset = DNCPreset(rawValue: try text("dnc.preset", accepted: DNCPreset.allCases.map(\.rawValue)))!
        let memory = try text("dnc.memory", accepted: ["dense", "sparse", "sparse_temporal"])
        if memory != "dense" {
            let index: SparseIndexKind
            if try text("dnc.index", accepted: ["exact", "approximate"]) == "exact" {
                index = .exact
            } else {
                var lists: Int?
                if values["dnc.index_lists"] != nil { lists = try int("dnc.index_lists") }
                index = .approximate(ApproximateIndexOptions(
                    lists: lists, probes: try int("dnc.index_probes"), kMeansIterations: try int("dnc.index_kmeans_iterations"),
                    minimumBuildSize: try int("dnc.index_minimum_build_size"),
                    // Checkpoints written before the quantised first pass have no shortlist: the default.
                    shortlist: values["dnc.index_shortlist"] != nil ? try int("dnc.index_shortlist") : ApproximateIndexOptions().shortlist))
            }
            let reads = try int("dnc.sparse_reads")
            if memory == "sparse" {
                memoryKind = .sparse(reads: reads, index: index)
            } else {
                memoryKind = .sparseTemporal(reads: reads, temporalReads: try int("dnc.temporal_reads"), index: index)
            }
        }
        do { try validate(naming: { "dnc.\($0.constructorName)" }) } catch {
            throw .invalidContents(file: file, reason: "\(error)")
        }
    }

    static var cellNames: [String] { ["lstm", "gru", "rnn_tanh", "rnn_relu"] }

    /// DNC-MD's three switches with their settings (attribute `dnc.<constructor name>`).
    var improvementSettings: [(Setting, Bool)] {
        [(.maskedContentLookup, memoryImprovements.maskedContentLookup), (.deallocation, memoryImprovements.deallocation),
         (.linkSharpness, memoryImprovements.linkSharpness)]
    }

    static func name(of cell: RecurrentCellKind) -> String {
        switch cell {
        case .lstm: "lstm"
        case .gru: "gru"
        case .rnn(.tanh): "rnn_tanh"
        case .rnn(.relu): "rnn_relu"
        }
    }
}

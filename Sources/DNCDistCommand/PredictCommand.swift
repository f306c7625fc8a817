import ArgumentParser
import DNCModels
import DNCNumerics
import DNCStorage
import DNCTraining
import Foundation

/// `dnc-dist predict`: a checkpoint's model run on sequences read from an HDF5 file.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a checkpoint's model on the input sequences of an HDF5 file.",
        discussion: """
        Reads dataset `inputs` (batch, time, input width), float32 or float64, from --input and \
        writes dataset `outputs` (batch, time, output width), float32, the model's outputs \
        (logits) in evaluation mode, to a new file --output. With --debug the memory trace of \
        every sample goes through the debug dump writer (the layout of dnc-dist train's debug \
        dumps, see `DebugDumpWriter`) to <debug-directory>/debug-rank0.h5, one group per \
        sample: step_<sample index>, batch_element = the sample index.
        """)

    @Option(help: "Checkpoint file (dnc-dist train's checkpoints/checkpoint-<step>.h5, or a file DNC.save(to:) wrote).")
    var checkpoint: String
    @Option(help: "HDF5 file holding dataset `inputs` (batch, time, input width), float32 or float64.")
    var input: String
    @Option(help: "HDF5 file to create (it must not exist) with dataset `outputs` (batch, time, output width).")
    var output: String
    @Flag(help: "Also write the memory trace of every sample (DNC, SAM, SDNC checkpoints).")
    var debug = false
    @Option(name: [.customLong("debug-directory"), .customLong("debug_directory")],
            help: "Where --debug writes debug-rank0.h5 (default: the output's path without .h5, plus -debug).")
    var debugDirectory: String?

    func run() throws {
        if FileManager.default.fileExists(atPath: output) {
            throw ValidationError("output '\(output)' exists: dnc-dist predict creates a new file, remove it or choose another name")
        }
        let model = try PredictionModel(checkpoint: checkpoint)
        if debug, model.dnc == nil {
            throw ValidationError("--debug: checkpoint '\(checkpoint)' holds a controller-only model, which has no memory to trace")
        }
        let inputs = try Self.readInputs(input, width: model.inputWidth)
        let outputs = model.sequenceModel.infer(inputs.swappingFirstTwoAxes(), lengths: nil).swappingFirstTwoAxes()
        if debug, let dnc = model.dnc {
            let directory = debugDirectory ?? Self.defaultDebugDirectory(output: output)
            let writer = try DebugDumpWriter(runDirectory: directory, rank: 0)
            try writer.truncate(after: -1)
            let modelInputs = dnc.configuration.batchFirst ? inputs : inputs.swappingFirstTwoAxes()
            for sample in 0..<inputs.shape[0] {
                let traced = dnc.forward(modelInputs, recordForBackward: false, debug: true, debugBatchElement: sample)
                try writer.write(step: sample, trace: traced.trace!)
            }
            try writer.close()
            print("wrote the memory traces of \(inputs.shape[0]) samples to \(writer.path)")
        }
        let file = try HDF5File(path: output, mode: .createExclusive)
        try file.write(outputs, to: "outputs")
        try file.writeAttribute("axes", "batch,time,output", at: "outputs")
        try file.writeAttribute("checkpoint", checkpoint)
        try file.writeAttribute("input", input)
        try file.close()
        print("wrote outputs \(outputs.shape) to \(output)")
    }

    /// `<output without .h5>-debug`.
    static func defaultDebugDirectory(output: String) -> String {
        (output.hasSuffix(".h5") ? String(output.dropLast(3)) : output) + "-debug"
    }

    /// Dataset `inputs` of `path` as Float (batch, time, width), or one line naming the file,
    /// the dataset, what was found and what is accepted.
    static func readInputs(_ path: String, width: Int) throws -> Tensor<Float> {
        let accepted = "accepted: (batch, time, \(width)) float32 or float64, batch and time at least 1"
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("input '\(path)': no such file") }
        let file: HDF5File
        do { file = try HDF5File(path: path, mode: .readOnly) } catch {
            throw ValidationError("input '\(path)': not a readable HDF5 file (\(error))")
        }
        defer { try? file.close() }
        guard try file.exists("inputs") else {
            throw ValidationError("input '\(path)': no dataset 'inputs' (\(accepted))")
        }
        let type = try file.elementType(of: "inputs")
        guard type == .float32 || type == .float64 else {
            throw ValidationError("input '\(path)' dataset 'inputs': element type \(type), \(accepted)")
        }
        let shape = try file.shape(of: "inputs")
        guard shape.count == 3, shape[0] >= 1, shape[1] >= 1, shape[2] == width else {
            throw ValidationError("input '\(path)' dataset 'inputs': shape (\(shape.map(String.init).joined(separator: ", "))), "
                                  + "\(accepted) (the checkpoint's input width)")
        }
        let inputs = try file.readTensorConverting("inputs", as: Float.self)
        if let index = inputs.storage.firstIndex(where: { !$0.isFinite }) {
            throw ValidationError("input '\(path)' dataset 'inputs': element \(index) is \(inputs.storage[index]), accepted: finite numbers")
        }
        return inputs
    }
}

/// The model of a checkpoint for `predict`: any `SequenceModel` (time-major), the DNC when it
/// is one (for its memory trace), and its input and output widths.
struct PredictionModel {
    let sequenceModel: any SequenceModel
    let dnc: DNC<Float>?
    let inputWidth: Int
    let outputWidth: Int

    init(checkpoint path: String) throws {
        let stored = try CheckpointFile.read(path, as: Float.self)
        if stored.configuration["configuration_json"] != nil {
            let loaded = try CheckpointedModel(checkpoint: stored, path: path)
            sequenceModel = loaded.setup.model
            dnc = loaded.setup.model as? DNC<Float>
            inputWidth = loaded.setup.task.inputSize
            outputWidth = loaded.setup.task.outputSize
        } else {
            let model = try DNC<Float>.model(from: stored, file: path)
            sequenceModel = model
            dnc = model
            inputWidth = model.configuration.inputSize
            outputWidth = model.configuration.resolvedOutputSize
        }
    }
}

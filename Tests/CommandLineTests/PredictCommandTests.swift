import XCTest
import TestSupport
import DNCTraining
import DNCModels
import DNCNumerics
import DNCStorage

/// `dnc-dist predict`: outputs equal to the model run in-process, for inputs written by this
/// project's HDF5 writer and by h5py; the memory trace of every sample; bad inputs refused.
final class PredictCommandTests: XCTestCase {
    var directory: URL!

    override func setUp() { directory = Executables.temporaryDirectory("predict") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A small DNC saved with `DNC.save(to:)`: input width 6, output width 4, batch-first.
    func savedModel(batchFirst: Bool = true) throws -> (model: DNC<Float>, checkpoint: String) {
        var configuration = DNCConfiguration(inputSize: 6, hiddenSize: 12)
        configuration.outputSize = 4
        configuration.cellCount = 7
        configuration.cellWidth = 5
        configuration.batchFirst = batchFirst
        let model = DNC<Float>(configuration, seed: 3)
        let checkpoint = path("model.h5")
        try model.save(to: checkpoint)
        return (model, checkpoint)
    }

    /// (batch 3, time 5, width) values in [-1, 1].
    func sampleInputs(width: Int = 6) -> Tensor<Float> {
        let random = CounterRandom(seed: 11)
        return Tensor(shape: [3, 5, width], storage: (0..<(15 * width)).map { Float(random.uniform(stream: 1, index: UInt64($0)) * 2 - 1) })
    }

    func writeInputs<T: Real>(_ inputs: Tensor<T>, to file: String) throws {
        let h5 = try HDF5File(path: file, mode: .createExclusive)
        try h5.write(inputs, to: "inputs")
        try h5.close()
    }

    func readOutputs(_ file: String) throws -> Tensor<Float> {
        let h5 = try HDF5File(path: file, mode: .readOnly)
        defer { try? h5.close() }
        return try h5.readTensor("outputs", as: Float.self)
    }

    /// The in-process reference: the checkpoint loaded here, its output for (batch, time, width) inputs.
    func inProcessOutputs(checkpoint: String, inputs: Tensor<Float>) throws -> Tensor<Float> {
        let model = try DNC<Float>.load(checkpoint: checkpoint)
        return model.infer(inputs.swappingFirstTwoAxes(), lengths: nil).swappingFirstTwoAxes()
    }

    func assertClose(_ a: Tensor<Float>, _ b: Tensor<Float>, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        guard a.shape == b.shape else { return }
        let worst = zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-5, "largest difference \(worst)", file: file, line: line)
    }

    func testOutputsEqualTheModelRunInProcessForInputsOfTheProjectsWriter() throws {
        for batchFirst in [true, false] {
            let (_, checkpoint) = try savedModel(batchFirst: batchFirst)
            let inputs = sampleInputs()
            try writeInputs(inputs, to: path("in.h5"))
            let result = try Executables.run("dnc-dist", ["predict", "--checkpoint", checkpoint, "--input", path("in.h5"),
                                                          "--output", path("out.h5")])
            XCTAssertEqual(result.status, 0, result.error)
            let outputs = try readOutputs(path("out.h5"))
            XCTAssertEqual(outputs.shape, [3, 5, 4])
            assertClose(outputs, try inProcessOutputs(checkpoint: checkpoint, inputs: inputs))
            XCTAssertGreaterThan(outputs.storage.map(abs).max() ?? 0, 0, "outputs are not all zero")
            for name in ["model.h5", "in.h5", "out.h5"] { try FileManager.default.removeItem(atPath: path(name)) }
        }
    }

    func testFloat64InputsWrittenByH5py() throws {
        guard let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] else {
            throw XCTSkip("DNC_TEST_PYTHON (a Python with h5py) is not set")
        }
        let (_, checkpoint) = try savedModel()
        let script = """
        import h5py, numpy as np, sys
        x = np.sin(np.arange(3 * 5 * 6, dtype=np.float64) * 0.37).reshape(3, 5, 6)
        with h5py.File(sys.argv[1], "w") as f:
            f.create_dataset("inputs", data=x)
        """
        let written = try Executables.run(executable: URL(fileURLWithPath: python), ["-c", script, path("in.h5")], timeout: 60)
        XCTAssertEqual(written.status, 0, written.error)
        let result = try Executables.run("dnc-dist", ["predict", "--checkpoint", checkpoint, "--input", path("in.h5"),
                                                      "--output", path("out.h5")])
        XCTAssertEqual(result.status, 0, result.error)
        let inputs = Tensor<Float>(shape: [3, 5, 6], storage: (0..<90).map { Float(sin(Double($0) * 0.37)) })
        assertClose(try readOutputs(path("out.h5")), try inProcessOutputs(checkpoint: checkpoint, inputs: inputs))
        // h5py reads what predict wrote.
        let read = try Executables.run(executable: URL(fileURLWithPath: python), ["-c", """
            import h5py, sys
            with h5py.File(sys.argv[1], "r") as f:
                print(f["outputs"].shape, f["outputs"].dtype, f["outputs"].attrs["axes"])
            """, path("out.h5")], timeout: 60)
        XCTAssertEqual(read.output.trimmingCharacters(in: .whitespacesAndNewlines), "(3, 5, 4) float32 batch,time,output", read.error)
    }

    func testCheckpointOfDNCDistTrain() throws {
        let run = directory.appendingPathComponent("run")
        let train = try Executables.run("dnc-dist", ["train", "copy", "-nhid", "16", "-mem_slot", "8", "-mem_size", "6", "-batch_size", "4",
                                                     "-iterations", "2", "-summarize_freq", "1", "-eval_lengths", "2",
                                                     "-eval_batches", "1", "--run-dir", run.path])
        XCTAssertEqual(train.status, 0, train.error)
        let checkpoint = run.appendingPathComponent("checkpoints/checkpoint-00000002.h5").path
        let loaded = try CheckpointedModel(path: checkpoint)
        let inputs = sampleInputs(width: loaded.setup.task.inputSize)
        try writeInputs(inputs, to: path("in.h5"))
        let result = try Executables.run("dnc-dist", ["predict", "--checkpoint", checkpoint, "--input", path("in.h5"),
                                                      "--output", path("out.h5")])
        XCTAssertEqual(result.status, 0, result.error)
        let expected = loaded.setup.model.infer(inputs.swappingFirstTwoAxes(), lengths: nil).swappingFirstTwoAxes()
        assertClose(try readOutputs(path("out.h5")), expected)
        // The typed API reads the trainer's checkpoint too, to the same model.
        assertClose(try inProcessOutputs(checkpoint: checkpoint, inputs: inputs), expected)
    }

    func testDebugWritesTheMemoryTraceOfEverySample() throws {
        let (model, checkpoint) = try savedModel()
        let inputs = sampleInputs()
        try writeInputs(inputs, to: path("in.h5"))
        let result = try Executables.run("dnc-dist", ["predict", "--checkpoint", checkpoint, "--input", path("in.h5"),
                                                      "--output", path("out.h5"), "--debug"])
        XCTAssertEqual(result.status, 0, result.error)
        let dump = try HDF5File(path: path("out-debug/debug-rank0.h5"), mode: .readOnly)
        defer { try? dump.close() }
        XCTAssertEqual(try dump.children().filter { $0.hasPrefix("step_") }.sorted(), ["step_00000000", "step_00000001", "step_00000002"])
        for sample in 0..<3 {
            let group = DebugDumpWriter.stepGroup(sample)
            XCTAssertEqual(try dump.readAttribute("batch_element", at: group, as: Int.self), sample)
            let memory = try dump.readTensor("\(group)/layer_0/memory", as: Float.self)
            XCTAssertEqual(memory.shape, [5, 7, 5])
            let trace = model.forward(inputs, recordForBackward: false, debug: true, debugBatchElement: sample).trace!
            let expected = trace.sequence("memory")
            XCTAssertEqual(expected.count, 5)
            let worst = zip(memory.storage, expected.flatMap(\.storage)).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5, "sample \(sample)")
        }
    }

    /// Every refusal: exit 2, one line on stderr naming the file, the dataset, what was found
    /// and what is accepted; no output file.
    func testBadInputsAreRefusedInOneLine() throws {
        let (_, checkpoint) = try savedModel()
        func refused(_ input: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try Executables.run("dnc-dist", ["predict", "--checkpoint", checkpoint, "--input", input, "--output", path("out.h5")])
            XCTAssertEqual(result.status, 2, result.error, file: file, line: line)
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error, file: file, line: line)
            for needle in expected { XCTAssertTrue(result.error.contains(needle), "'\(needle)' in \(result.error)", file: file, line: line) }
        }
        let accepted = "accepted: (batch, time, 6) float32 or float64"
        try writeInputs(Tensor<Float>(shape: [3, 5, 7], repeating: 0.5), to: path("wide.h5"))
        try refused(path("wide.h5"), ["input '\(path("wide.h5"))' dataset 'inputs': shape (3, 5, 7)", accepted])
        try writeInputs(Tensor<Float>(shape: [3, 6], repeating: 0.5), to: path("flat.h5"))
        try refused(path("flat.h5"), ["input '\(path("flat.h5"))' dataset 'inputs': shape (3, 6)", accepted])
        try writeInputs(Tensor<Double>(shape: [3, 0, 6]), to: path("empty.h5"))
        try refused(path("empty.h5"), ["input '\(path("empty.h5"))' dataset 'inputs': shape (3, 0, 6)", accepted])
        let ints = try HDF5File(path: path("ints.h5"), mode: .createExclusive)
        try ints.write(ints: [Int](repeating: 1, count: 90), shape: [3, 5, 6], to: "inputs")
        try ints.close()
        try refused(path("ints.h5"), ["input '\(path("ints.h5"))' dataset 'inputs': element type int64", accepted])
        try refused(path("missing.h5"), ["input '\(path("missing.h5"))': no such file"])
        let noDataset = path("nodataset.h5")
        let file = try HDF5File(path: noDataset, mode: .createExclusive)
        try file.write(Tensor<Float>(shape: [3, 5, 6]), to: "x")
        try file.close()
        try refused(noDataset, ["input '\(noDataset)': no dataset 'inputs'", "accepted: (batch, time, 6)"])
        // NaN in the inputs.
        let nan = path("nan.h5")
        var values = Tensor<Float>(shape: [3, 5, 6], repeating: 0.1)
        values.storage[7] = .nan
        try writeInputs(values, to: nan)
        try refused(nan, ["input '\(nan)' dataset 'inputs': element 7 is nan", "accepted: finite numbers"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.h5")))
        // An existing output is never overwritten.
        try writeInputs(sampleInputs(), to: path("good.h5"))
        XCTAssertTrue(FileManager.default.createFile(atPath: path("out.h5"), contents: Data("keep".utf8)))
        let result = try Executables.run("dnc-dist", ["predict", "--checkpoint", checkpoint, "--input", path("good.h5"), "--output", path("out.h5")])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("output '\(path("out.h5"))' exists"), result.error)
        XCTAssertEqual(try String(contentsOfFile: path("out.h5"), encoding: .utf8), "keep")
    }
}

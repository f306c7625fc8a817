import Foundation
import TestSupport
import DNCModels
import DNCNumerics
import DNCStorage
import DNCTraining
import XCTest

/// `scripts/torch-bridge.py` against pytorch-dnc itself (PyPI `dnc`, in the Python that
/// `DNC_TORCH_PYTHON` names; scripts/test.sh makes one): a pytorch-dnc model moved to a checkpoint
/// gives pytorch-dnc's outputs in `dnc-dist predict` and `DNC.load`, and moved back it is the same
/// state dict, bit for bit; a model dnc-dist trained (or `DNC.save` wrote) gives our outputs in
/// pytorch-dnc. Both sides start from the controller state predict draws (the pytorch preset's
/// random initial state, reproduced in Python by the bridge), so any difference in the
/// parameters' names, layouts or the preset's semantics shows as a difference in the outputs.
final class TorchBridgeTests: XCTestCase {
    var directory: URL!
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var bridge: String { root.appendingPathComponent("scripts/torch-bridge.py").path }
    var helper: String { root.appendingPathComponent("Tests/Scripts/torch_bridge_check.py").path }

    override func setUp() { directory = Executables.temporaryDirectory("torch-bridge") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func torchPython() throws -> String {
        guard let python = ProcessInfo.processInfo.environment["DNC_TORCH_PYTHON"] else {
            throw XCTSkip("DNC_TORCH_PYTHON (a Python with torch, h5py and pytorch-dnc, set up by scripts/test.sh) is not set")
        }
        return python
    }

    /// Runs a Python script; fails the test (with its stderr) unless it exits 0.
    @discardableResult
    func python(_ python: String, _ arguments: [String], expect status: Int32 = 0,
                file: StaticString = #filePath, line: UInt = #line) throws -> Executables.Result {
        let result = try Executables.run(executable: URL(fileURLWithPath: python), arguments, timeout: 300)
        XCTAssertEqual(result.status, status, "\(arguments.prefix(2).joined(separator: " ")): \(result.output)\(result.error)",
                       file: file, line: line)
        return result
    }

    func predict(checkpoint: String, inputs: String, outputs: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try Executables.run("dnc-dist", ["predict", "--checkpoint", checkpoint, "--input", inputs, "--output", outputs])
        XCTAssertEqual(result.status, 0, result.error, file: file, line: line)
    }

    func readTensor(_ file: String, _ name: String = "outputs") throws -> Tensor<Float> {
        let h5 = try HDF5File(path: file, mode: .readOnly)
        defer { try? h5.close() }
        return try h5.readTensor(name, as: Float.self)
    }

    /// The largest difference relative to the largest value (float32 outputs of two libraries:
    /// the same operations in another order differ by a few units of 1e-7).
    func relativeDifference(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Float {
        let scale = max(1, b.storage.map(abs).max() ?? 0)
        return (zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? .infinity) / scale
    }

    func assertSameOutputs(_ ours: Tensor<Float>, _ theirs: Tensor<Float>, _ label: String,
                           file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.shape, theirs.shape, label, file: file, line: line)
        guard ours.shape == theirs.shape else { return }
        XCTAssertGreaterThan(theirs.storage.map(abs).max() ?? 0, 0.01, "\(label): outputs are not all near zero", file: file, line: line)
        XCTAssertLessThan(relativeDifference(ours, theirs), 1e-5, label, file: file, line: line)
    }

    /// pytorch-dnc constructor arguments and the dnc-dist flags of the same model.
    struct Case {
        let label: String
        let constructor: String
        let flags: [String]
    }

    let cases = [
        Case(label: "LSTM, 1 DNC layer of 2 LSTM layers",
             constructor: #"{"input_size": 5, "hidden_size": 8, "num_layers": 1, "num_hidden_layers": 2, "nr_cells": 6, "cell_size": 4, "read_heads": 2}"#,
             flags: ["-input_size", "5", "-nhid", "8", "-nlayer", "1", "-nhlayer", "2", "-mem_slot", "6", "-mem_size", "4", "-read_heads", "2"]),
        Case(label: "LSTM, 2 DNC layers of 1 LSTM layer, a memory each",
             constructor: #"{"input_size": 5, "hidden_size": 8, "num_layers": 2, "num_hidden_layers": 1, "nr_cells": 6, "cell_size": 4, "read_heads": 2, "share_memory": false}"#,
             flags: ["-input_size", "5", "-nhid", "8", "-nlayer", "2", "-nhlayer", "1", "-mem_slot", "6", "-mem_size", "4", "-read_heads", "2",
                     "-share_memory", "false"]),
        Case(label: "LSTM, 2 DNC layers of 2 LSTM layers, shared memory",
             constructor: #"{"input_size": 4, "hidden_size": 10, "num_layers": 2, "num_hidden_layers": 2, "nr_cells": 7, "cell_size": 3, "read_heads": 3}"#,
             flags: ["-input_size", "4", "-nhid", "10", "-nlayer", "2", "-nhlayer", "2", "-mem_slot", "7", "-mem_size", "3", "-read_heads", "3"]),
        Case(label: "GRU, 2 DNC layers of 2 GRU layers, independent linears",
             constructor: #"{"input_size": 5, "hidden_size": 8, "rnn_type": "gru", "num_layers": 2, "num_hidden_layers": 2, "nr_cells": 6, "cell_size": 4, "read_heads": 3, "independent_linears": true}"#,
             flags: ["-input_size", "5", "-nhid", "8", "-rnn_type", "gru", "-nlayer", "2", "-nhlayer", "2", "-mem_slot", "6", "-mem_size", "4",
                     "-read_heads", "3", "-independent_linears", "true"]),
        Case(label: "RNN relu, clip 0.5",
             constructor: #"{"input_size": 5, "hidden_size": 8, "rnn_type": "rnn", "nonlinearity": "relu", "num_layers": 1, "num_hidden_layers": 2, "nr_cells": 6, "cell_size": 4, "read_heads": 2, "clip": 0.5}"#,
             flags: ["-input_size", "5", "-nhid", "8", "-rnn_type", "rnn", "-nonlinearity", "relu", "-nlayer", "1", "-nhlayer", "2",
                     "-mem_slot", "6", "-mem_size", "4", "-read_heads", "2", "-controller_clip", "0.5"]),
    ]

    /// pytorch-dnc model → checkpoint: predict, DNC.load and eval read it and give pytorch-dnc's
    /// outputs; → state dict again: the same tensors, bit for bit, and the same outputs.
    func testPytorchDNCStateDictsGiveTheirOutputsInPredictAndComeBackUnchanged() throws {
        let python = try torchPython()
        for (index, c) in cases.enumerated() {
            let seed = String(11 + index)
            let (stateDict, inputs, checkpoint) = (path("\(index).pt"), path("\(index)-in.h5"), path("\(index).h5"))
            // The model, its inputs and its outputs from the controller state predict will draw for `seed`.
            try self.python(python, [helper, "make", "--constructor", c.constructor, "--torch-seed", String(3 + index),
                                     "--state-dict", stateDict, "--inputs", inputs, "--batch", "3", "--steps", "8",
                                     "--bridge", bridge, "--seed", seed, "--outputs", path("\(index)-torch.h5")])
            try self.python(python, [bridge, "to-checkpoint", "--state-dict", stateDict, "--out", checkpoint, "-seed", seed] + c.flags)
            try predict(checkpoint: checkpoint, inputs: inputs, outputs: path("\(index)-ours.h5"))
            let ours = try readTensor(path("\(index)-ours.h5")), theirs = try readTensor(path("\(index)-torch.h5"))
            assertSameOutputs(ours, theirs, "\(c.label): dnc-dist predict against pytorch-dnc")

            // The library reads the checkpoint too, and computes the same.
            let loaded = try DNC<Float>.load(checkpoint: checkpoint)
            XCTAssertEqual(loaded.configuration.preset, .pytorchCompat, c.label)
            let inProcess = loaded.infer(try readTensor(inputs, "inputs").swappingFirstTwoAxes(), lengths: nil).swappingFirstTwoAxes()
            assertSameOutputs(inProcess, theirs, "\(c.label): DNC.load against pytorch-dnc")

            // Back to a state dict: the same tensors, and pytorch-dnc built from the printed arguments gives the same outputs.
            let (back, arguments) = (path("\(index)-back.pt"), path("\(index)-back.json"))
            let printed = try self.python(python, [bridge, "to-state-dict", "--checkpoint", checkpoint, "--out", back, "--args-out", arguments])
            XCTAssertTrue(printed.output.contains("model = DNC(input_size="), printed.output)
            try self.python(python, [helper, "same", stateDict, back, "--bridge", bridge, "--args", arguments,
                                     "--inputs", inputs, "--outputs", path("\(index)-back.h5")])
            XCTAssertEqual(try readTensor(path("\(index)-back.h5")).storage, theirs.storage, "\(c.label): outputs after the round trip")
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: arguments))) as? [String: Any])
            XCTAssertEqual(record["seed"] as? Int, Int(seed), c.label)
            let given = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(c.constructor.utf8)) as? [String: Any])
            let stored = try XCTUnwrap(record["constructor"] as? [String: Any])
            for (key, value) in given {
                XCTAssertEqual("\(stored[key] ?? "missing")", "\(value)", "\(c.label): constructor argument \(key)")
            }
        }

        // The comparison can fail: another seed's initial controller state gives other outputs.
        try self.python(python, [helper, "run", "--bridge", bridge, "--constructor", cases[0].constructor, "--seed", "99",
                            "--state-dict", path("0.pt"), "--inputs", path("0-in.h5"), "--outputs", path("0-other.h5")])
        XCTAssertGreaterThan(relativeDifference(try readTensor(path("0-ours.h5")), try readTensor(path("0-other.h5"))), 1e-3)

        // dnc-dist eval reads it as a copy checkpoint.
        let eval = try Executables.run("dnc-dist", ["eval", "--checkpoint", path("0.h5"), "--lengths", "2,3", "--batches", "1",
                                                    "--batch-size", "2", "--output", path("eval")])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("eval.h5")))
    }

    /// A model dnc-dist trained with -preset pytorch, and one DNC.save wrote, give our outputs in pytorch-dnc.
    func testOurCheckpointsGiveOurOutputsInPytorchDNC() throws {
        let python = try torchPython()
        let trainings: [(String, [String])] = [
            ("LSTM, 2 DNC layers", ["-nlayer", "2", "-nhlayer", "2"]),
            ("GRU, 1 DNC layer, a memory per layer, independent linears",
             ["-rnn_type", "gru", "-nhlayer", "1", "-share_memory", "false", "-independent_linears", "true"]),
        ]
        for (index, (label, flags)) in trainings.enumerated() {
            let run = path("run-\(index)")
            let trained = try Executables.run("dnc-dist", ["train", "copy", "-input_size", "5", "-nhid", "8", "-mem_slot", "6", "-mem_size", "4",
                                                           "-read_heads", "2", "-preset", "pytorch", "-iterations", "6", "-batch_size", "2",
                                                           "-check_freq", "6", "-summarize_freq", "3", "-eval_lengths", "2", "-eval_batches", "1",
                                                           "-seed", "9", "--run-dir", run] + flags)
            XCTAssertEqual(trained.status, 0, trained.error)
            let checkpoint = run + "/checkpoints/checkpoint-00000006.h5"
            try checkOurCheckpoint(checkpoint, python: python, label: label, seed: 9)
        }

        var configuration = DNCConfiguration(inputSize: 5, hiddenSize: 9)
        configuration.preset = .pytorchCompat
        configuration.layerCount = 2
        configuration.cellCount = 5
        configuration.cellWidth = 3
        configuration.readHeads = 2
        let model = DNC<Float>(configuration, seed: 21)
        try model.save(to: path("saved.h5"))
        try checkOurCheckpoint(path("saved.h5"), python: python, label: "DNC.save", seed: 21)
    }

    func checkOurCheckpoint(_ checkpoint: String, python: String, label: String, seed: Int,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let name = label.filter { $0.isLetter || $0.isNumber }
        let (stateDict, arguments, inputs) = (path("\(name).pt"), path("\(name).json"), path("\(name)-in.h5"))
        try self.python(python, [bridge, "to-state-dict", "--checkpoint", checkpoint, "--out", stateDict, "--args-out", arguments],
                   file: file, line: line)
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: arguments))) as? [String: Any])
        XCTAssertEqual(record["seed"] as? Int, seed, label, file: file, line: line)
        let random = CounterRandom(seed: 5)
        let values = Tensor<Float>(shape: [2, 9, 5], storage: (0..<90).map { Float(random.uniform(stream: 1, index: UInt64($0)) * 2 - 1) })
        let h5 = try HDF5File(path: inputs, mode: .createExclusive)
        try h5.write(values, to: "inputs")
        try h5.close()
        try predict(checkpoint: checkpoint, inputs: inputs, outputs: path("\(name)-ours.h5"), file: file, line: line)
        try self.python(python, [helper, "run", "--bridge", bridge, "--args", arguments, "--state-dict", stateDict,
                            "--inputs", inputs, "--outputs", path("\(name)-torch.h5")], file: file, line: line)
        assertSameOutputs(try readTensor(path("\(name)-ours.h5")), try readTensor(path("\(name)-torch.h5")),
                          "\(label): pytorch-dnc against dnc-dist predict", file: file, line: line)
    }

    /// Bad input: one line naming the item and what was expected, exit status 2, no file written.
    func testBadInputIsRefusedInOneLine() throws {
        let python = try torchPython()
        let c = cases[2]
        try self.python(python, [helper, "make", "--constructor", c.constructor, "--torch-seed", "1",
                                 "--state-dict", path("m.pt"), "--inputs", path("in.h5")])
        try self.python(python, [helper, "make", "--constructor", c.constructor, "--torch-seed", "1", "--extra-parameter", "memory_norm.weight",
                                 "--state-dict", path("extra.pt"), "--inputs", path("in2.h5")])
        func flags(replacing name: String, with value: String) -> [String] {
            var result = c.flags
            if let at = result.firstIndex(of: name) { result[at + 1] = value } else { result += [name, value] }
            return result
        }
        let refusals: [([String], [String])] = [
            (["--state-dict", path("absent.pt")] + c.flags, ["--state-dict", "absent.pt", "no such file"]),
            (["--state-dict", path("extra.pt")] + c.flags, ["unknown parameter 'memory_norm.weight'"]),
            (["--state-dict", path("m.pt")] + flags(replacing: "-nhid", with: "9"),
             ["'lstm_layer_0.weight_ih_l0'", "(40, 13)", "expected (36, 13)", "-nhid 9"]),
            (["--state-dict", path("m.pt")] + flags(replacing: "-nlayer", with: "1"), ["unknown parameter 'lstm_layer_1.", "-nlayer 1"]),
            (["--state-dict", path("m.pt")] + flags(replacing: "-rnn_type", with: "gru"), ["unknown parameter 'lstm_layer_0.weight_ih_l0'", "-rnn_type gru"]),
            (["--state-dict", path("m.pt")] + c.flags.filter { $0 != "-mem_slot" && $0 != "7" }, ["-mem_slot is required"]),
            (["--state-dict", path("m.pt")] + flags(replacing: "-memory_type", with: "sam"), ["-memory_type 'sam'", "accepted: dnc"]),
            (["--state-dict", path("m.pt")] + flags(replacing: "-nhid", with: "0"), ["-nhid 0", "at least 1"]),
        ]
        for (arguments, needles) in refusals {
            let out = path("refused.h5")
            let result = try self.python(python, [bridge, "to-checkpoint"] + arguments + ["--out", out], expect: 2)
            let text = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertFalse(text.contains("\n"), text)
            for needle in needles { XCTAssertTrue(text.contains(needle), "'\(needle)' not in: \(text)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), text)
        }

        // The reverse: a checkpoint pytorch-dnc cannot compute, a missing one, an existing output.
        let run = path("paper-run")
        let trained = try Executables.run("dnc-dist", ["train", "copy", "-nhid", "8", "-mem_slot", "6", "-mem_size", "4", "-read_heads", "2",
                                                       "-iterations", "2", "-batch_size", "2", "-check_freq", "2", "-summarize_freq", "2",
                                                       "-eval_lengths", "2", "-eval_batches", "1", "--run-dir", run])
        XCTAssertEqual(trained.status, 0, trained.error)
        XCTAssertTrue(FileManager.default.createFile(atPath: path("exists.pt"), contents: Data()))
        let reverse: [([String], [String])] = [
            (["--checkpoint", run + "/checkpoints/checkpoint-00000002.h5", "--out", path("r.pt")], ["preset is 'paper'", "accepted: pytorch"]),
            (["--checkpoint", path("absent.h5"), "--out", path("r.pt")], ["--checkpoint", "absent.h5", "no such file"]),
            (["--checkpoint", run + "/checkpoints/checkpoint-00000002.h5", "--out", path("exists.pt")], ["--out", "exists.pt", "exists"]),
        ]
        for (arguments, needles) in reverse {
            let result = try self.python(python, [bridge, "to-state-dict"] + arguments, expect: 2)
            let text = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertFalse(text.contains("\n"), text)
            for needle in needles { XCTAssertTrue(text.contains(needle), "'\(needle)' not in: \(text)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r.pt")))
    }
}

import Foundation
import TestSupport
import XCTest

/// The files a run writes are self-describing: xarray (h5netcdf, as netCDF readers do) names
/// every axis of every dataset, positions are int64 with −1 for an empty slot, and the dumped
/// sample's input, target and output lie beside the memory tensors.
final class NamedDimensionsTests: XCTestCase {
    let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "6", "-read_heads", "2", "-batch_size", "4",
                 "-summarize_freq", "5", "-eval_lengths", "2", "-eval_batches", "1", "-iterations", "5", "-check_freq", "5", "-debug"]

    /// Dimensions of each key of layer 0 per memory, as documented in DebugDumpWriter.
    let expected: [String: [String: [String]]] = [
        "dnc": ["memory": ["time", "cell", "word"], "link_matrix": ["time", "cell_to", "cell_from"],
                "precedence": ["time", "one", "cell"], "read_weights": ["time", "head", "cell"],
                "write_weights": ["time", "one", "cell"], "usage_vector": ["time", "one", "cell"],
                "allocation_weights": ["time", "one", "cell"], "read_modes": ["time", "head", "mode"],
                "write_gate": ["time", "one", "gate"], "free_gates": ["time", "one", "head"]],
        "sam": ["memory": ["time", "memory_row", "word"], "write_positions": ["time", "one", "written"],
                "write_weights": ["time", "one", "written"], "visible_memory": ["time", "read_slot", "word"],
                "read_positions": ["time", "head", "slot"], "read_weights": ["time", "head", "slot"],
                "usage": ["time", "head", "slot"], "least_used_mem": ["time", "one", "least_used"]],
    ]
    let sdncExtra: [String: [String]] = [
        "read_modes": ["time", "head", "mode"], "link_matrix": ["time", "read_slot_to", "read_slot_from"],
        "rev_link_matrix": ["time", "read_slot_to", "read_slot_from"], "precedence": ["time", "one", "precedence_slot"],
        "precedence_positions": ["time", "one", "precedence_slot"]]
    let positions: Set<String> = ["write_positions", "read_positions", "least_used_mem", "precedence_positions"]

    func testEveryDebugDumpAxisIsANamedDimension() throws {
        guard let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] else {
            throw XCTSkip("DNC_TEST_PYTHON (a Python with h5py, xarray and h5netcdf, set up by scripts/test.sh) is not set")
        }
        let memories: [(String, [String])] = [("dnc", []), ("sam", ["-memory_type", "sam", "-sparse_reads", "2"]),
                                              ("sdnc", ["-memory_type", "sdnc", "-sparse_reads", "2", "-temporal_reads", "2"])]
        for (memory, flags) in memories {
            let run = Executables.temporaryDirectory("dims-\(memory)")
            defer { try? FileManager.default.removeItem(at: run) }
            let result = try Executables.run("dnc-dist", ["train", "copy"] + small + flags + ["--run-dir", run.path])
            XCTAssertEqual(result.status, 0, result.error)
            let dump = run.appendingPathComponent("debug-rank0.h5").path
            let seen = try namedDimensions(python: python, files: [dump])
            let groups = try XCTUnwrap(seen[dump], memory)
            let layer = try XCTUnwrap(groups["step_00000005/layer_0"], "\(memory): \(groups.keys.sorted())")
            var keys = expected[memory == "sdnc" ? "sam" : memory]!
            if memory == "sdnc" { keys.merge(sdncExtra) { $1 } }
            XCTAssertEqual(Set(layer.keys), Set(keys.keys), memory)
            for (key, dims) in keys {
                XCTAssertEqual(layer[key]?["dims"] as? [String], dims, "\(memory) \(key)")
                XCTAssertEqual(layer[key]?["dtype"] as? String, positions.contains(key) ? "int64" : "float32", "\(memory) \(key)")
                XCTAssertEqual(layer[key]?["empty_position"] as? Int, positions.contains(key) ? -1 : nil, "\(memory) \(key)")
            }
            let sample = try XCTUnwrap(groups["step_00000005/sample"], memory)
            XCTAssertEqual(sample["input"]?["dims"] as? [String], ["time", "input_feature"], memory)
            XCTAssertEqual(sample["output"]?["dims"] as? [String], ["time", "output_feature"], memory)
            XCTAssertEqual(sample["target"]?["dims"] as? [String], ["time", "target_feature"], memory)

            let tool = "/usr/bin/h5dump"
            if FileManager.default.isExecutableFile(atPath: tool) {
                let header = try runTool(tool, ["-A", dump])
                for fragment in ["ATTRIBUTE \"DIMENSION_LIST\"", "\"DIMENSION_SCALE\"", "DATASET \"time\"", "DATASET \"word\""] {
                    XCTAssertTrue(header.contains(fragment), "\(memory): h5dump -A lacks \(fragment)")
                }
            }
        }
    }

    /// Runs Tests/Scripts/check_named_dimensions.py: file → group → variable → {dims, dtype, ...}.
    func namedDimensions(python: String, files: [String]) throws -> [String: [String: [String: [String: Any]]]] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/check_named_dimensions.py")
        let result = try Executables.run(executable: URL(fileURLWithPath: python), [script.path] + files)
        XCTAssertEqual(result.status, 0, result.error)
        let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8))
        return try XCTUnwrap(json as? [String: [String: [String: [String: Any]]]], result.output)
    }
}

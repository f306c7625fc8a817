import XCTest
import Foundation
import DNCNumerics
import DNCLayers
import DNCModels
import DNCTraining

/// The README's usage example, compiled and run, so that it stays true.
final class ReadmeExampleTests: XCTestCase {
    func testReadmeExample() {
        // README: begin
        var configuration = DNCConfiguration(inputSize: 64, hiddenSize: 128)
        configuration.cell = .lstm
        configuration.layerCount = 4
        configuration.cellCount = 100
        configuration.cellWidth = 32
        configuration.readHeads = 4
        configuration.batchFirst = true
        let rnn = DNC<Float>(configuration, seed: 42)

        let x = Tensor<Float>(shape: [10, 4, 64], repeating: 0.5)       // (B, T, X)
        var result = rnn.forward(x, resetExperience: true)                // fresh state
        result = rnn.forward(x, state: result.state, debug: true)         // carry the state on
        let output = result.output                                        // (B, T, 64)
        let memory = result.trace!.stacked("memory")                       // (T·layers, N·W), pytorch-dnc's old form
        let usage = result.trace!.sequence("usage_vector")                 // one (1, N) tensor per step and layer
        // README: end
        XCTAssertEqual(output.shape, [10, 4, 64])
        XCTAssertEqual(memory.shape, [16, 3200])
        XCTAssertEqual(usage.count, 16)
        XCTAssertEqual(usage[0].shape, [1, 100])
    }

    /// README "Use it from your package": the program, in-process (FreshPackageTests builds it as
    /// a package of its own, which takes minutes; this runs in a second).
    func testLibraryExample() throws {
        // README library: begin
        // A DNC for 8-bit vectors: 32 hidden units, 16 memory cells of width 8, 2 read heads.
        var configuration = DNCConfiguration(inputSize: 8, hiddenSize: 32)
        configuration.cellCount = 16
        configuration.cellWidth = 8
        configuration.readHeads = 2
        let model = DNC<Float>(configuration, seed: 1)

        // Four sequences of six random 8-bit vectors, batch-first (B, T, X); the target is the input.
        let random = CounterRandom(seed: 2)
        let bits = Tensor<Float>(shape: [4, 6, 8], storage: (0..<192).map { random.uniform(stream: 0, index: UInt64($0)) < 0.5 ? 0 : 1 })

        // Training steps: forward, loss and its gradient, backward, clipping, Adam.
        let optimiser = try Adam<Float>(learningRate: 0.01)
        var losses: [Float] = []
        for _ in 0..<10 {
            model.store.zeroGradients()
            let logits = model.forward(bits, training: true).output                // (B, T, 8)
            let (loss, gradient) = Losses.binaryCrossEntropyWithLogits(logits, targets: bits)
            _ = model.backward(outputGradient: gradient)
            _ = clipGlobalNorm(model.store, maxNorm: 10)
            optimiser.step(store: model.store)
            losses.append(loss)
        }
        print("loss \(losses[0]) -> \(losses[losses.count - 1])")

        // Save and load (an HDF5 checkpoint; `dnc-dist predict --checkpoint` runs it too).
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("copy-demo-\(UUID().uuidString).h5").path
        try model.save(to: file)
        let loaded = try DNC<Float>.load(checkpoint: file)
        let same = loaded.forward(bits, recordForBackward: false).output == model.forward(bits, recordForBackward: false).output
        print("the loaded model gives \(same ? "the same" : "different") outputs")
        try FileManager.default.removeItem(atPath: file)
        // README library: end
        XCTAssertLessThan(losses[9], losses[0])
        XCTAssertTrue(same)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file))
    }

    /// The README prints the code `testLibraryExample` runs, after `import DNCKit` and `import Foundation`.
    func testReadmeShowsTheLibraryExampleThatRuns() throws {
        let here = URL(fileURLWithPath: #filePath)
        let source = try String(contentsOf: here, encoding: .utf8)
        let readme = try String(contentsOf: here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md"), encoding: .utf8)
        let begin = try XCTUnwrap(source.range(of: "// README library: begin\n"))
        let end = try XCTUnwrap(source.range(of: "        // README library: end", range: begin.upperBound..<source.endIndex))
        let tested = source[begin.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        let marker = "<!-- fresh-package: main.swift -->\n```swift\nimport DNCKit\nimport Foundation\n\n"
        let start = try XCTUnwrap(readme.range(of: marker), "README's main.swift block starts with the two imports")
        let close = try XCTUnwrap(readme.range(of: "```\n", range: start.upperBound..<readme.endIndex))
        XCTAssertEqual(String(readme[start.upperBound..<close.lowerBound]), tested)
    }

    /// The DocC getting-started article shows the README's manifest and program, the program in
    /// parts (Sources/DNCKit/DNCKit.docc/GettingStarted.md).
    func testGettingStartedArticleShowsTheReadmeProgram() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        func swiftBlocks(_ text: String) -> [String] {
            text.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "\n```")[0] }
        }
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let article = try String(contentsOf: root.appendingPathComponent("Sources/DNCKit/DNCKit.docc/GettingStarted.md"), encoding: .utf8)
        func readmeBlock(_ name: String) throws -> String {
            let marked = readme.components(separatedBy: "<!-- fresh-package: \(name) -->\n")
            XCTAssertEqual(marked.count, 2, "one README block marked \(name)")
            return try XCTUnwrap(swiftBlocks(try XCTUnwrap(marked.last)).first)
        }
        let blocks = swiftBlocks(article)
        XCTAssertEqual(blocks.count, 5, "the manifest, then the program in four parts")
        guard blocks.count == 5 else { return }
        XCTAssertEqual(blocks[0], try readmeBlock("Package.swift"))
        XCTAssertEqual(blocks[1...].joined(separator: "\n\n"), try readmeBlock("main.swift"))
    }
}

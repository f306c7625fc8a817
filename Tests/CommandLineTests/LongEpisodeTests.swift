import XCTest
import TestSupport
import DNCTraining
import DNCNumerics
import DNCModels

/// Long episodes trained by truncated backpropagation through time (`tbptt`, docs/tasks.md, Long
/// episodes): the chunks carry the state so that an episode computes what one pass computes, a
/// chunk's gradient is the episode gradient's rows, and the run stays resumable, refusable and
/// data-parallel.
final class LongEpisodeTests: XCTestCase {
    let memories: [(String, (inout TrainingConfiguration) -> Void)] = [
        ("dnc", { _ in }),
        ("sam", { $0.memory_type = .sam; $0.sparse_reads = 2 }),
        ("sdnc", { $0.memory_type = .sdnc; $0.sparse_reads = 2; $0.temporal_reads = 2 }),
    ]

    func configuration(memory: (inout TrainingConfiguration) -> Void) -> TrainingConfiguration {
        var c = TrainingConfiguration.defaults(task: "copy")
        c.nhid = 12; c.mem_slot = 24; c.mem_size = 5; c.read_heads = 2; c.batch_size = 3; c.sequence_max_length = 9
        c.iterations = 4; c.summarize_freq = 1; c.check_freq = 100; c.lr = 0.01
        memory(&c)
        return c
    }

    /// Trains `c` for its iterations; the loss of every step and the final parameters.
    func train(_ c: TrainingConfiguration) throws -> (losses: [Double], parameters: [Float]) {
        let trainer = try Trainer(configuration: c, runDirectory: nil, progress: ProgressReporter(enabled: false))
        var losses: [Double] = []
        try trainer.run { losses.append($0.loss) }
        let store = trainer.model.parameters
        return (losses, Array(UnsafeBufferPointer(start: store.values, count: store.count)))
    }

    /// A chunk as long as the sequence (or longer) is the ordinary training step, bit for bit.
    func testOneChunkCoveringTheSequenceIsTheUsualStep() throws {
        for (name, memory) in memories {
            let c = configuration(memory: memory)
            var chunked = c
            chunked.tbptt = 2 * c.sequence_max_length + 1
            let a = try train(c), b = try train(chunked)
            XCTAssertEqual(a.losses, b.losses, name)
            XCTAssertEqual(a.parameters.map(\.bitPattern), b.parameters.map(\.bitPattern), name)
        }
    }

    /// With updates too small to move a parameter (SGD at lr 1e-30), an episode in chunks of 4
    /// steps computes exactly the outputs, hence the losses, of one pass over the same sequences:
    /// the controller state, the read vectors and the memory (dense, or SAM's and the SDNC's
    /// memory changed in place and rolled back by each chunk's backward) go on from chunk to
    /// chunk. With a real learning rate the chunks' updates make the runs differ.
    func testChunksCarryTheStateThroughTheEpisode() throws {
        for (name, memory) in memories {
            var c = configuration(memory: memory)
            c.optim = .sgd
            c.lr = 1e-30
            var chunked = c
            chunked.tbptt = 4
            let a = try train(c), b = try train(chunked)
            XCTAssertEqual(a.losses.count, 4, name)
            XCTAssertEqual(a.losses, b.losses, "\(name): the chunked episode's losses differ from one pass's")

            var learning = configuration(memory: memory)
            learning.tbptt = 4
            let c1 = try train(configuration(memory: memory)), c2 = try train(learning)
            XCTAssertNotEqual(c1.parameters, c2.parameters, "\(name): per-chunk updates must change the training")
        }
    }

    /// With debugging on, a chunked episode's memory trace covers the whole episode (the chunks'
    /// traces end to end), step for step the trace one pass records.
    func testDebugTraceCoversTheWholeEpisode() throws {
        for (name, memory) in memories {
            var c = configuration(memory: memory)
            c.optim = .sgd
            c.lr = 1e-30
            c.debug = true
            c.iterations = 2
            var traces: [[Int: DNCTrace<Float>]] = [[:], [:]]
            for (k, tbptt) in [0, 3].enumerated() {
                c.tbptt = tbptt
                let trainer = try Trainer(configuration: c, runDirectory: nil, progress: ProgressReporter(enabled: false))
                trainer.debugWriter = { trainer, trace, sample in
                    XCTAssertEqual(trace.records.count, sample.input.shape[0], "\(name): one record per step of the episode")
                    traces[k][trainer.state.step] = trace
                }
                try trainer.run()
            }
            XCTAssertEqual(traces[0].keys.sorted(), [1, 2], name)
            for step in [1, 2] {
                let (whole, chunked) = (traces[0][step]!, traces[1][step]!)
                XCTAssertEqual(whole.records.count, chunked.records.count, name)
                for (a, b) in zip(whole.fieldRecords.joined(), chunked.fieldRecords.joined()) {
                    XCTAssertEqual(a.map(\.key), b.map(\.key), name)
                    XCTAssertEqual(a.map(\.value), b.map(\.value), "\(name), step \(step): the chunked trace differs from one pass's")
                }
            }
        }
    }

    /// A chunk's gradient (what truncated BPTT backpropagates) is the whole episode's gradient
    /// restricted to the chunk's steps, for every task, whatever the other steps' logits hold.
    func testChunkGradientsAreTheEpisodeGradientsRows() throws {
        for name in Tasks.names where name != "adding" {
            let task = try Tasks.make(name: name, inputSize: nil, seed: 3)
            let lengths: LengthSpec = name == "copy" ? .fixed(6) : .uniform(min: 3, max: 5)
            let batch = task.batch(step: 2, firstSample: 0, count: 3, lengths: lengths)
            let random = CounterRandom(seed: 8)
            let shape = [batch.steps, batch.count, task.outputSize]
            let count = shape.reduce(1, *)
            let logits = Tensor<Float>(shape: shape, storage: (0..<count).map { random.uniform(Float.self, stream: 0, index: UInt64($0), low: -3, high: 3) })
            let whole = task.evaluate(logits: logits, batch: batch, globalBatchSize: 3).gradient
            let row = count / batch.steps
            for range in [0..<2, 2..<batch.steps - 1, batch.steps - 1..<batch.steps] {
                // Rows outside the chunk may hold anything: here, garbage.
                var scrambled = logits
                for t in 0..<batch.steps where !range.contains(t) {
                    for i in t * row ..< (t + 1) * row { scrambled.storage[i] = 1e3 }
                }
                let chunk = task.gradient(logits: scrambled, batch: batch, globalBatchSize: 3, steps: range)
                XCTAssertEqual(chunk.shape, [range.count] + whole.shape.dropFirst(), name)
                XCTAssertEqual(chunk.storage, Array(whole.storage[range.lowerBound * row ..< range.upperBound * row]), "\(name) steps \(range)")
            }
        }
    }

    /// `dnc-dist train … -tbptt C` on SAM over episodes much longer than a chunk: it trains,
    /// resumes bit-identically, and bad values are refused in one line before any work.
    func testCommandLineTrainsResumesAndRefuses() throws {
        let whole = Executables.temporaryDirectory("tbptt-whole"), parts = Executables.temporaryDirectory("tbptt-parts")
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: parts) }
        let flags = ["-memory_type", "sam", "-sparse_reads", "2", "-nhid", "12", "-mem_slot", "64", "-mem_size", "6", "-read_heads", "1",
                     "-batch_size", "2", "-sequence_max_length", "30", "-tbptt", "8", "-check_freq", "3", "-summarize_freq", "3",
                     "-eval_lengths", "40", "-eval_batches", "1", "-lr", "0.003"]
        var result = try Executables.run("dnc-dist", ["train", "copy"] + flags + ["-iterations", "6", "--run-dir", whole.path])
        XCTAssertEqual(result.status, 0, result.error)
        result = try Executables.run("dnc-dist", ["train", "copy"] + flags + ["-iterations", "3", "--run-dir", parts.path])
        XCTAssertEqual(result.status, 0, result.error)
        result = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "6", "--resume", "--run-dir", parts.path])
        XCTAssertEqual(result.status, 0, result.error)
        let a = try Data(contentsOf: whole.appendingPathComponent("checkpoints/checkpoint-00000006.h5"))
        let b = try Data(contentsOf: parts.appendingPathComponent("checkpoints/checkpoint-00000006.h5"))
        XCTAssertTrue(a == b, "the resumed chunked run's checkpoint differs from the uninterrupted run's")

        for (arguments, message) in [(["-tbptt", "-3"], "tbptt"), (["-tbptt", "5", "-memory_type", "none"], "memory_type none")]
            + [(["-tbptt", "5"], "adding task")] {
            let task = message == "adding task" ? "adding" : "copy"
            let refused = try Executables.run("dnc-dist", ["train", task, "-iterations", "1", "--run-dir", whole.path + "-refused"] + arguments)
            XCTAssertEqual(refused.status, 2, refused.output)
            XCTAssertEqual(refused.error.split(separator: "\n").count, 1, refused.error)
            XCTAssertTrue(refused.error.contains(message), refused.error)
        }
    }

    /// Under MPI the ranks run the same number of chunks even when their episodes differ in
    /// length (bAbI's stories: a rank with a shorter batch adds zero gradients), and 2 ranks
    /// train the model 1 rank trains.
    func testRanksAgreeOnTheChunks() throws {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
        }
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("tbptt-mpi"), stories: 6)
        defer { try? FileManager.default.removeItem(at: root) }
        let environment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"]
        let small = ["-nhid", "12", "-mem_slot", "16", "-mem_size", "6", "-read_heads", "1", "-lr", "0.003", "-summarize_freq", "2",
                     "-eval_batches", "1", "-tbptt", "5", "-iterations", "4"]
        for (task, extra) in [("copy", ["-memory_type", "sam", "-sparse_reads", "2", "-sequence_max_length", "12", "-eval_lengths", "12", "-batch_size", "4"]),
                              ("babi", ["--data", root.path, "-tasks", "1,8,19", "-batch_size", "3", "-optim", "sgd", "-lr", "0.1"])] {
            var parameters: [[Float]] = []
            for ranks in [1, 2] {
                let run = root.appendingPathComponent("\(task)\(ranks)")
                let result = try Executables.run(executable: URL(fileURLWithPath: mpirun),
                                                 ["-n", "\(ranks)", Executables.url("dnc-dist").path, "train", task, "--run-dir", run.path]
                                                     + small + extra, timeout: 180, environment: environment)
                XCTAssertEqual(result.status, 0, "\(task), \(ranks) ranks: \(result.error)")
                let checkpoint = try CheckpointFile.read(run.appendingPathComponent("checkpoints/checkpoint-00000004.h5").path, as: Float.self)
                parameters.append(checkpoint.parameters.flatMap(\.value.storage))
            }
            let difference = zip(parameters[0], parameters[1]).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(difference, 1e-5, "\(task): 2 ranks trained another model than 1")
        }
    }
}

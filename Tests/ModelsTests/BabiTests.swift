import XCTest
import TestSupport
import DNCNumerics
@testable import DNCTraining

/// The bAbI task against docs/tasks.md (bAbI): the parser on handmade files (story restarts,
/// multi-word answers, punctuation), refusal of malformed files, the vocabulary, the encoding,
/// the loss masking, the evaluation's counting and the batching by length.
final class BabiTests: XCTestCase {
    let text = """
    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? \tbathroom\t1
    1 Daniel picked up the apple.
    2 Daniel got the football there.
    3 What is Daniel carrying?\tapple,football\t1 2

    """

    func testParserSplitsStoriesAtLineOneAndReadsQuestions() throws {
        let stories = try BabiParser.parse(text, file: "mini.txt", task: 8)
        XCTAssertEqual(stories.count, 2, "line numbers restarting at 1 start a new story")
        XCTAssertEqual(stories[0].lines, [
            .statement(words: ["mary", "moved", "to", "the", "bathroom", "."]),
            .statement(words: ["john", "went", "to", "the", "hallway", "."]),
            .question(words: ["where", "is", "mary", "?"], answers: ["bathroom"], supportingFacts: [1]),
        ])
        XCTAssertEqual(stories[1].lines[2], .question(words: ["what", "is", "daniel", "carrying", "?"],
                                                       answers: ["apple", "football"], supportingFacts: [1, 2]))
        XCTAssertEqual(stories.map(\.task), [8, 8])
        XCTAssertEqual(stories.map(\.questionCount), [1, 1])
    }

    func testMalformedFilesAreRefusedNamingFileAndLine() {
        let bad: [(String, String)] = [
            ("1 Mary moved.\n3 John went.\n", "line 2: story line number 3 follows 1"),
            ("1 Mary moved.\nJohn went.\n", "line 2: expected 'N text'"),
            ("1 Mary moved.\n2 Where is Mary?\tbathroom\n", "line 2: 1 tabs"),
            ("1 Mary moved.\n2 Where is Mary?\tbathroom\t2\n", "line 2: supporting fact '2'"),
            ("1 Mary moved.\n2 Where is Mary?\t\t1\n", "line 2: answer ''"),
        ]
        for (text, expected) in bad {
            XCTAssertThrowsError(try BabiParser.parse(text, file: "qa1_bad_train.txt", task: 1)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("bAbI file 'qa1_bad_train.txt', \(expected)"), message)
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
    }

    func testVocabularyIsSortedDeduplicatedAndHoldsTheAnswerMarker() throws {
        let stories = try BabiParser.parse(text, file: "mini.txt", task: 1)
        let vocabulary = BabiVocabulary(stories: stories)
        XCTAssertEqual(vocabulary.words, vocabulary.words.sorted())
        XCTAssertEqual(Set(vocabulary.words).count, vocabulary.count)
        for word in ["-", ".", "?", "apple", "football", "mary", "where"] { XCTAssertNotNil(vocabulary.index(of: word), word) }
        XCTAssertNil(vocabulary.index(of: "Mary"), "words are lower-cased")
        XCTAssertEqual(BabiVocabulary(stories: stories.reversed()), vocabulary, "the order of the stories does not matter")
    }

    func testEncodingReplacesEachAnswerWordByTheMarker() throws {
        let stories = try BabiParser.parse(text, file: "mini.txt", task: 8)
        let vocabulary = BabiVocabulary(stories: stories)
        let sample = BabiDataset.encode(stories[1], vocabulary)
        let words = sample.tokens.map { vocabulary.words[$0] }
        XCTAssertEqual(words, "daniel picked up the apple . daniel got the football there . what is daniel carrying ? - -"
            .split(separator: " ").map(String.init))
        XCTAssertEqual(sample.answers, [BabiAnswer(step: 17, word: vocabulary.index(of: "apple")!, question: 0),
                                        BabiAnswer(step: 18, word: vocabulary.index(of: "football")!, question: 0)])
    }

    func testDatasetSpansAllTwentyTasksAndHoldsOutValidationStories() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-mini"), stories: 10)
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try BabiDataset(data: root.path, set: "en", tasks: [1, 8], validationFraction: 0.2)
        XCTAssertEqual(dataset.train.count, 16)
        XCTAssertEqual(dataset.validation.count, 4)
        XCTAssertEqual(dataset.test.count, 4)
        XCTAssertEqual(Set(dataset.train.map(\.task)), [1, 8])
        // The vocabulary covers the tasks not trained too: the same for any task subset.
        let all = try BabiDataset(data: root.path, set: "en", tasks: Array(1...20), validationFraction: 0.2)
        XCTAssertEqual(all.vocabulary, dataset.vocabulary)
        // A stored vocabulary lacking a word of the files is refused.
        XCTAssertThrowsError(try BabiDataset(data: root.path, set: "en", tasks: [1], validationFraction: 0,
                                             vocabulary: dataset.vocabulary.words.filter { $0 != "apple" })) { error in
            XCTAssertTrue("\(error)".contains("'apple' is not in the run's stored vocabulary"), "\(error)")
        }
        // A malformed file stops the load naming it.
        try "1 Mary moved.\n3 Where?\tx\t1\n".write(to: root.appendingPathComponent("en/qa5_mini_test.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BabiDataset(data: root.path, set: "en", tasks: [1], validationFraction: 0)) { error in
            XCTAssertTrue("\(error)".contains("qa5_mini_test.txt', line 2"), "\(error)")
        }
    }

    func testTheTenKSetFallsBackToTheOneKTrainingFileAndSaysSo() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-10k"), sets: ["en", "en-10k"])
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(at: root.appendingPathComponent("en-10k/qa3_mini_train.txt"))
        let dataset = try BabiDataset(data: root.path, set: "en-10k", tasks: [1, 3], validationFraction: 0)
        XCTAssertEqual(dataset.substitutions, ["task 3 train: en-10k has no file; the 1k set's qa3_mini_train.txt was used"])
        XCTAssertEqual(try BabiDataset(data: root.path, set: "en-10k", tasks: [1], validationFraction: 0).substitutions, [],
                       "runs without task 3 need no note")
        let task = try BabiTask(dataset: dataset, tasks: [1, 3], seed: 1, bucketSize: 32)
        let model = ControllerModel(kind: .lstm, inputSize: task.inputSize, hiddenSize: 4, depth: 1, outputSize: task.outputSize, seed: 1)
        XCTAssertTrue(try BabiResults.run(model: model, task: task, split: .test, batchSize: 4).table()
            .contains("note: task 3 train: en-10k has no file"), "every result including task 3 says so")
        // Without the 1k set either, the missing file is named.
        try FileManager.default.removeItem(at: root.appendingPathComponent("en/qa3_mini_train.txt"))
        XCTAssertThrowsError(try BabiDataset(data: root.path, set: "en-10k", tasks: [1], validationFraction: 0)) { error in
            XCTAssertTrue("\(error)".contains("no qa3_*_train.txt in"), "\(error)")
        }
    }

    /// A dataset of synthetic samples of the given lengths, each with one answer at its last step.
    func syntheticTask(lengths: [Int], batchSize: Int, tasks: [Int] = [1]) throws -> BabiTask {
        let vocabulary = BabiVocabulary(words: ["a", "b", "c"])
        let samples = lengths.enumerated().map { i, length in
            BabiSample(task: tasks[i % tasks.count], tokens: Array(repeating: 1, count: length - 1) + [vocabulary.answerMarkerIndex],
                       answers: [BabiAnswer(step: length - 1, word: 1 + i % 3, question: 0)])
        }
        let dataset = BabiDataset(vocabulary: vocabulary, train: samples, validation: [], test: samples)
        return try BabiTask(dataset: dataset, tasks: tasks, seed: 7, bucketSize: BabiTask.bucketSize(batchSize: batchSize))
    }

    func testBatchesComeFromOneLengthBucketAndSplitByGlobalSampleIndex() throws {
        let lengths = (0..<400).map { 5 + ($0 * 7919) % 300 }
        let task = try syntheticTask(lengths: lengths, batchSize: 8)
        var padding = 0, steps = 0
        for step in 0..<50 {
            let batch = task.batch(step: step, firstSample: 0, count: 8, lengths: .fixed(1))
            XCTAssertEqual(batch.lengths!.max(), batch.steps)
            padding += batch.steps * 8 - batch.lengths!.reduce(0, +)
            steps += batch.steps * 8
            let bucket = task.bucket(step: step)
            for b in 0..<8 { XCTAssertTrue(bucket.contains(task.sortedTraining.firstIndex(of: task.trainingSample(step: step, sample: b))!)) }
            // The second half of the batch, generated alone, is the same samples.
            let half = task.batch(step: step, firstSample: 4, count: 4, lengths: .fixed(1))
            XCTAssertEqual(half.lengths!, Array(batch.lengths![4...]))
        }
        // 32-story buckets over 400 lengths spread evenly from 5 to 304 span about 24 steps each,
        // so padding stays under 10 % (batches of 8 stories drawn from all lengths pad about 40 %).
        XCTAssertLessThan(Double(padding) / Double(steps), 0.10, "batches are mostly story, not padding")
        // Every story can come up.
        let drawn = Set((0..<2000).map { task.trainingSample(step: $0, sample: 0) })
        XCTAssertGreaterThan(drawn.count, 350)
    }

    func testLossAndGradientAreZeroAwayFromAnswerSteps() throws {
        let task = try syntheticTask(lengths: [4, 6], batchSize: 2)
        let batch = task.makeBatch(task.dataset.train)
        var logits = Tensor<Float>(shape: [batch.steps, 2, task.outputSize])
        for i in 0..<logits.count { logits[flat: i] = Float((i * 37) % 11) / 5 - 1 }
        let evaluation = task.evaluate(logits: logits, batch: batch, globalBatchSize: 2)
        let v = task.outputSize
        for t in 0..<batch.steps {
            for b in 0..<2 {
                let isAnswer = t == batch.lengths![b] - 1
                let norm = (0..<v).map { abs(evaluation.gradient[flat: (t * 2 + b) * v + $0]) }.reduce(0, +)
                if isAnswer { XCTAssertGreaterThan(norm, 0, "t \(t) b \(b)") } else { XCTAssertEqual(norm, 0, "t \(t) b \(b)") }
            }
        }
        // Changing a logit away from the answer steps changes nothing; the gradient at an answer
        // step matches a finite difference of the loss.
        var moved = logits
        moved[flat: (0 * 2 + 0) * v + 1] += 5
        XCTAssertEqual(task.evaluate(logits: moved, batch: batch, globalBatchSize: 2).loss, evaluation.loss)
        let i = ((batch.lengths![1] - 1) * 2 + 1) * v + 2, h: Float = 1e-2
        var plus = logits, minus = logits
        plus[flat: i] += h
        minus[flat: i] -= h
        let difference = (task.evaluate(logits: plus, batch: batch, globalBatchSize: 2).loss
            - task.evaluate(logits: minus, batch: batch, globalBatchSize: 2).loss) / Double(2 * h)
        XCTAssertEqual(Double(evaluation.gradient[flat: i]), difference, accuracy: 1e-3)
        // Split over two processes, the losses and gradients add up to the global batch's.
        let first = task.evaluate(logits: slice(logits, sample: 0, steps: batch.steps), batch: task.makeBatch([task.dataset.train[0]]), globalBatchSize: 2)
        let second = task.evaluate(logits: slice(logits, sample: 1, steps: batch.steps), batch: task.makeBatch([task.dataset.train[1]]), globalBatchSize: 2)
        XCTAssertEqual(first.loss + second.loss, evaluation.loss, accuracy: 1e-6)
    }

    /// Sample `sample`'s logits of a two-sample batch, cut to its own batch's steps.
    func slice(_ logits: Tensor<Float>, sample: Int, steps: Int) -> Tensor<Float> {
        let v = logits.shape[2]
        let own = sample == 0 ? 4 : 6
        var result = Tensor<Float>(shape: [own, 1, v])
        for t in 0..<own { for j in 0..<v { result[flat: t * v + j] = logits[flat: (t * 2 + sample) * v + j] } }
        return result
    }

    func testAQuestionIsRightOnlyIfEveryAnswerWordIs() throws {
        let stories = try BabiParser.parse(text, file: "mini.txt", task: 8)
        let vocabulary = BabiVocabulary(stories: stories)
        let samples = stories.map { BabiDataset.encode($0, vocabulary) }
        let dataset = BabiDataset(vocabulary: vocabulary, train: samples, validation: [], test: samples)
        let task = try BabiTask(dataset: dataset, tasks: [8], seed: 1, bucketSize: 32)
        let batch = task.makeBatch([samples[1]])
        var logits = Tensor<Float>(shape: [batch.steps, 1, vocabulary.count])
        let v = vocabulary.count
        // "apple" right, "football" wrong ("apple" again).
        logits[flat: 17 * v + vocabulary.index(of: "apple")!] = 5
        logits[flat: 18 * v + vocabulary.index(of: "apple")!] = 5
        var metrics = task.evaluate(logits: logits, batch: batch, globalBatchSize: 1).metrics
        XCTAssertEqual(metrics[BabiMetricKey.answerWordError], MetricSum(sum: 1, count: 2))
        XCTAssertEqual(metrics[BabiMetricKey.questionError(task: 8)], MetricSum(sum: 1, count: 1), "one wrong word fails the question")
        logits[flat: 18 * v + vocabulary.index(of: "football")!] = 9
        metrics = task.evaluate(logits: logits, batch: batch, globalBatchSize: 1).metrics
        XCTAssertEqual(metrics[BabiMetricKey.questionError(task: 8)], MetricSum(sum: 0, count: 1))
    }

    func testResultsCountFailedTasksAboveFivePercent() {
        let results = BabiResults(metrics: [
            BabiMetricKey.questionError(task: 1): MetricSum(sum: 50, count: 1000),   // 5 %: not failed
            BabiMetricKey.questionError(task: 2): MetricSum(sum: 51, count: 1000),   // 5.1 %: failed
            BabiMetricKey.questionError(task: 3): MetricSum(sum: 500, count: 1000),  // failed
        ], tasks: [1, 2, 3], split: "test")
        XCTAssertEqual(results.failedTasks, 2)
        XCTAssertEqual(results.meanError, (0.05 + 0.051 + 0.5) / 3, accuracy: 1e-12)
        XCTAssertTrue(results.table().contains("failed tasks (> 5 %) 2 of 3"), results.table())
    }

    /// The CSV's percentages are written to four decimals, not as the binary expansion of
    /// 100·wrong/questions (555/1000 → 55.50000000000001).
    func testResultsCSVHasReadablePercentages() throws {
        let results = BabiResults(tasks: [.init(task: 2, questions: 1000, wrong: 555), .init(task: 7, questions: 999, wrong: 1)],
                                  split: "test")
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("babi-csv-\(UUID().uuidString)")
        defer { for e in ["csv", "h5"] { try? FileManager.default.removeItem(at: prefix.appendingPathExtension(e)) } }
        try results.write(to: prefix, attributes: [:])
        let lines = try String(contentsOf: prefix.appendingPathExtension("csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines, ["task,questions,wrong,error_percent", "2,1000,555,55.5000", "7,999,1,0.1001", "mean,1999,556,27.8001"])
    }

    func testEvaluationVisitsEveryTestStoryOnceWhateverTheBatch() throws {
        let task = try syntheticTask(lengths: [3, 9, 4, 12, 5, 7, 8], batchSize: 3, tasks: [1, 2])
        let model = ControllerModel(kind: .lstm, inputSize: task.inputSize, hiddenSize: 8, depth: 1, outputSize: task.outputSize,
                                    dropout: 0, seed: 1)
        let byThree = try BabiResults.run(model: model, task: task, split: .test, batchSize: 3)
        let byOne = try BabiResults.run(model: model, task: task, split: .test, batchSize: 1)
        XCTAssertEqual(byThree.tasks.map(\.questions), [4, 3])
        XCTAssertEqual(byThree, byOne)
    }
}

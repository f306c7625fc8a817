import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
@testable import DNCTraining

/// The task generators against docs/tasks.md (shapes, markers, targets on small cases decoded by
/// hand), determinism, data-parallel split invariance of batches and evaluations, losses
/// against direct formulas, gradients against finite differences, and metrics on perfect and
/// all-zero predictions.
final class TaskTests: XCTestCase {
    // MARK: Helpers

    /// (d0, B, rest…) tensors joined along axis 1.
    func concatenated(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Tensor<Float> {
        XCTAssertEqual(a.shape[0], b.shape[0])
        XCTAssertEqual(Array(a.shape.dropFirst(2)), Array(b.shape.dropFirst(2)))
        let inner = a.shape.dropFirst(2).reduce(1, *)
        let (ba, bb) = (a.shape[1], b.shape[1])
        var storage: [Float] = []
        for t in 0..<a.shape[0] {
            storage += a.storage[(t * ba * inner)..<((t + 1) * ba * inner)]
            storage += b.storage[(t * bb * inner)..<((t + 1) * bb * inner)]
        }
        var shape = a.shape
        shape[1] = ba + bb
        return Tensor(shape: shape, storage: storage)
    }

    /// Samples `range` (axis 1) of a (d0, B, rest…) tensor.
    func samples(_ x: Tensor<Float>, _ range: Range<Int>) -> Tensor<Float> {
        let inner = x.shape.dropFirst(2).reduce(1, *), batch = x.shape[1]
        var storage: [Float] = []
        for t in 0..<x.shape[0] {
            storage += x.storage[((t * batch + range.lowerBound) * inner)..<((t * batch + range.upperBound) * inner)]
        }
        var shape = x.shape
        shape[1] = range.count
        return Tensor(shape: shape, storage: storage)
    }

    /// Logits of the batch's shape, multiples of 1/64 in [−2, 2]: exact in Float, and so are
    /// x ± h, x ± 2h for h = 1/128, which keeps the finite differences free of input rounding.
    func logits(for batch: TaskBatch, _ task: any SequenceTask, seed: UInt64 = 3) -> Tensor<Float> {
        let random = CounterRandom(seed: seed)
        let shape = [batch.steps, batch.count, task.outputSize]
        return Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map {
            Float(random.integer(below: 257, stream: 9, index: UInt64($0)) - 128) / 64
        })
    }

    /// −[y ln σ(z) + (1 − y) ln(1 − σ(z))], written independently of the tasks' stable form.
    func crossEntropy(_ z: Float, _ y: Float) -> Double {
        let s = 1 / (1 + exp(-Double(z)))
        return -(Double(y) * log(s) + (1 - Double(y)) * log(1 - s))
    }

    /// Every case of the generic checks: each task with a length spec that exercises it.
    var cases: [(task: any SequenceTask, lengths: LengthSpec)] {
        [
            (try! CopyTask(inputSize: 4, seed: 7, objective: .allElements), .uniform(min: 1, max: 4)),
            (try! CopyTask(inputSize: 3, seed: 7, objective: .outputPhase), .uniform(min: 1, max: 3)),
            (try! AddingTask(inputSize: 4, seed: 7), .uniform(min: 2, max: 6)),
            (try! ArgmaxTask(inputSize: 4, seed: 7, objective: .allSteps), .uniform(min: 2, max: 6)),
            (try! ArgmaxTask(inputSize: 4, seed: 7, objective: .lastStep), .uniform(min: 2, max: 6)),
            (try! RepeatCopyTask(numBits: 2, minLength: 1, maxLength: 3, minRepeats: 1, maxRepeats: 3, seed: 7), .uniform(min: 1, max: 3)),
            (try! RepeatCopyTask(numBits: 2, minRepeats: 1, maxRepeats: 2, timeAverage: true, logProbInBits: true, seed: 7),
             .uniform(min: 1, max: 2)),
            (try! AssociativeRecallTask(bits: 3, itemLength: 2, seed: 7), .uniform(min: 2, max: 4)),
        ]
    }

    func label(_ task: any SequenceTask) -> String { "\(task.name) \(type(of: task))" }

    // MARK: Protocol-level checks, every task

    func testDeterminism() {
        for (task, lengths) in cases {
            for step in [0, 1, 17] {
                let a = task.batch(step: step, firstSample: 0, count: 6, lengths: lengths)
                let b = task.batch(step: step, firstSample: 0, count: 6, lengths: lengths)
                XCTAssertEqual(a.inputs, b.inputs, label(task))
                XCTAssertEqual(a.targets, b.targets, label(task))
                XCTAssertEqual(a.mask, b.mask, label(task))
                XCTAssertEqual(a.lengths, b.lengths, label(task))
                XCTAssertEqual(a.drawnLength, b.drawnLength, label(task))
            }
            // Another step or another seed gives other data.
            let fixed: LengthSpec = task is RepeatCopyTask ? .fixed(3) : .fixed(4)
            let first = task.batch(step: 2, firstSample: 0, count: 6, lengths: fixed)
            XCTAssertNotEqual(first.inputs, task.batch(step: 3, firstSample: 0, count: 6, lengths: fixed).inputs, label(task))
            let reseeded = try! Tasks.make(name: task.name, inputSize: task.inputSize, seed: 8)
            XCTAssertNotEqual(first.inputs, reseeded.batch(step: 2, firstSample: 0, count: 6, lengths: fixed).inputs, label(task))
        }
    }

    func testBatchSplitInvariance() {
        for (task, lengths) in cases {
            for step in [0, 5, 123] {
                let full = task.batch(step: step, firstSample: 0, count: 8, lengths: lengths)
                let a = task.batch(step: step, firstSample: 0, count: 3, lengths: lengths)
                let b = task.batch(step: step, firstSample: 3, count: 5, lengths: lengths)
                XCTAssertEqual(full.inputs, concatenated(a.inputs, b.inputs), label(task))
                XCTAssertEqual(full.targets, concatenated(a.targets, b.targets), label(task))
                XCTAssertEqual(full.lengths, a.lengths.map { $0 + b.lengths! }, label(task))
                XCTAssertEqual(full.mask, a.mask.map { concatenated($0, b.mask!) }, label(task))
                XCTAssertEqual(full.drawnLength, a.drawnLength, label(task))
                XCTAssertEqual(full.drawnLength, b.drawnLength, label(task))
                // A single sample generated alone is the same sample.
                let single = task.batch(step: step, firstSample: 6, count: 1, lengths: lengths)
                XCTAssertEqual(single.inputs, samples(full.inputs, 6..<7), label(task))
                XCTAssertEqual(single.targets, samples(full.targets, 6..<7), label(task))
            }
        }
    }

    func testEvaluationSplitInvariance() {
        for (task, lengths) in cases {
            let full = task.batch(step: 4, firstSample: 0, count: 8, lengths: lengths)
            let a = task.batch(step: 4, firstSample: 0, count: 3, lengths: lengths)
            let b = task.batch(step: 4, firstSample: 3, count: 5, lengths: lengths)
            let z = logits(for: full, task)
            let whole = task.evaluate(logits: z, batch: full, globalBatchSize: 8)
            let partA = task.evaluate(logits: samples(z, 0..<3), batch: a, globalBatchSize: 8)
            let partB = task.evaluate(logits: samples(z, 3..<8), batch: b, globalBatchSize: 8)
            XCTAssertEqual(partA.loss + partB.loss, whole.loss, accuracy: 1e-12 * abs(whole.loss), label(task))
            XCTAssertEqual(concatenated(partA.gradient, partB.gradient), whole.gradient, label(task))
            XCTAssertEqual(Set(whole.metrics.keys), Set(partA.metrics.keys), label(task))
            var summed = partA.metrics
            summed.accumulate(partB.metrics)
            for (key, metric) in whole.metrics {
                XCTAssertEqual(summed[key]!.sum, metric.sum, accuracy: 1e-9 * max(1, abs(metric.sum)), "\(label(task)) \(key)")
                XCTAssertEqual(summed[key]!.count, metric.count, "\(label(task)) \(key)")
            }
            // On one process the global batch is the local one: the loss is the batch mean.
            let local = task.evaluate(logits: samples(z, 0..<3), batch: a, globalBatchSize: 3)
            XCTAssertEqual(local.loss, partA.loss * 8 / 3, accuracy: 1e-12 * local.loss, label(task))
        }
    }

    func testGradientsMatchFiniteDifferences() {
        for (task, lengths) in cases {
            let batch = task.batch(step: 1, firstSample: 2, count: 3, lengths: lengths)
            let z = logits(for: batch, task)
            let analytic = task.evaluate(logits: z, batch: batch, globalBatchSize: 5).gradient
            GradientCheck.compare(point: z.storage.map(Double.init), analytic: analytic.storage.map(Double.init),
                                  step: 1.0 / 128, tolerance: 1e-5, floor: 1e-6, label: label(task)) { point in
                task.evaluate(logits: Tensor(shape: z.shape, storage: point.map(Float.init)), batch: batch, globalBatchSize: 5).loss
            }
        }
    }

    func testPrimaryMetricIsReported() {
        for (task, lengths) in cases {
            let batch = task.batch(step: 0, firstSample: 0, count: 2, lengths: lengths)
            let evaluation = task.evaluate(logits: logits(for: batch, task), batch: batch, globalBatchSize: 2)
            XCTAssertNotNil(evaluation.metrics[task.primaryMetric.key], label(task))
            XCTAssertEqual(batch.inputs.shape[2], task.inputSize, label(task))
            XCTAssertEqual(batch.targets.shape[1], 2, label(task))
        }
    }

    // MARK: Copy

    func testCopyLayout() {
        let task = try! CopyTask(inputSize: 4, seed: 11, objective: .allElements)
        let batch = task.batch(step: 3, firstSample: 5, count: 2, lengths: .fixed(3))
        XCTAssertEqual(batch.inputs.shape, [7, 2, 4])
        XCTAssertEqual(batch.targets.shape, [7, 2, 4])
        XCTAssertNil(batch.lengths)
        XCTAssertNil(batch.mask)
        XCTAssertEqual(batch.drawnLength, 3)
        let random = CounterRandom(seed: 11)
        for b in 0..<2 {
            for t in 0..<7 {
                for j in 0..<4 {
                    // The existing per-sample draw, keyed by (seed, step, global sample index).
                    let bit: Float = random.bernoulli(stream: 0x4249_5400_0000_0000 | 3,
                                                      index: UInt64((5 + b) * 3 * 3 + min(t, 2) * 3 + j), probability: 0.5) ? 1 : 0
                    let input: Float = t < 3 && j < 3 ? bit : (t == 3 && j == 3 ? 1 : 0)
                    XCTAssertEqual(batch.inputs[t, b, j], input, "input t \(t) b \(b) j \(j)")
                    let target: Float = t >= 4 && j < 3 ? batch.inputs[t - 4, b, j] : 0
                    XCTAssertEqual(batch.targets[t, b, j], target, "target t \(t) b \(b) j \(j)")
                }
            }
        }
        // Fair bits.
        let big = task.batch(step: 0, firstSample: 0, count: 64, lengths: .fixed(10))
        let ones = big.targets.storage.reduce(0, +) / Float(64 * 10 * 3)
        XCTAssertEqual(ones, 0.5, accuracy: 0.05)
    }

    func testCopyLengths() {
        let task = try! CopyTask(inputSize: 5, seed: 2, objective: .allElements)
        var seen = Set<Int>()
        for step in 0..<300 {
            let l = task.length(step: step, lengths: .uniform(min: 2, max: 6))
            XCTAssertTrue((2...6).contains(l))
            seen.insert(l)
            // Every rank agrees on L whatever its share.
            XCTAssertEqual(task.batch(step: step, firstSample: 9, count: 1, lengths: .uniform(min: 2, max: 6)).drawnLength, l)
        }
        XCTAssertEqual(seen, Set(2...6))
        XCTAssertEqual(task.length(step: 4, lengths: .fixed(9)), 9)
    }

    func testCopyLossAndMetrics() {
        for objective in CopyTask.Objective.allCases {
            let task = try! CopyTask(inputSize: 3, seed: 4, objective: objective)
            let batch = task.batch(step: 6, firstSample: 0, count: 4, lengths: .fixed(3))
            let z = logits(for: batch, task)
            var direct = 0.0, terms = 0
            for t in 0..<7 { for b in 0..<4 { for j in 0..<3 where objective == .allElements || (t > 3 && j < 2) {
                direct += crossEntropy(z[t, b, j], batch.targets[t, b, j])
                terms += 1
            } } }
            XCTAssertEqual(terms, objective == .allElements ? 4 * 7 * 3 : 4 * 3 * 2)
            let evaluation = task.evaluate(logits: z, batch: batch, globalBatchSize: 4)
            XCTAssertEqual(evaluation.loss, direct / Double(terms), accuracy: 1e-12, "\(objective)")
            // The all-element objective is PyTorch's mean BCE (DNCLayers' loss).
            if objective == .allElements {
                XCTAssertEqual(evaluation.loss, Double(Losses.binaryCrossEntropyWithLogits(z, targets: batch.targets).loss), accuracy: 1e-6)
            }

            // Perfect prediction.
            let perfect = Tensor(shape: z.shape, storage: batch.targets.storage.map { $0 * 20 - 10 })
            let good = task.evaluate(logits: perfect, batch: batch, globalBatchSize: 4).metrics
            XCTAssertEqual(good[MetricKey.bitErrors]!.mean, 0)
            XCTAssertEqual(good[MetricKey.maskedBitAccuracy]!.mean, 1)
            XCTAssertEqual(good[MetricKey.unmaskedBitAccuracy]!.mean, 1)

            // All-zero prediction: every bit is read as 0, the loss is ln 2 per element.
            let zero = task.evaluate(logits: Tensor(shape: z.shape), batch: batch, globalBatchSize: 4)
            let ones = Double(batch.targets.storage.reduce(0, +))
            XCTAssertEqual(zero.loss, log(2), accuracy: 1e-12)
            XCTAssertEqual(zero.metrics[MetricKey.bitErrors], MetricSum(sum: ones, count: 4))
            XCTAssertEqual(zero.metrics[MetricKey.maskedBitAccuracy], MetricSum(sum: 24 - ones, count: 24))
            XCTAssertEqual(zero.metrics[MetricKey.unmaskedBitAccuracy], MetricSum(sum: 84 - ones, count: 84))
            XCTAssertGreaterThan(zero.metrics[MetricKey.unmaskedBitAccuracy]!.mean, 0.7)
        }
    }

    // MARK: Adding

    /// The digit each step of sample b one-hots (checking that it is a one-hot).
    func digits(_ inputs: Tensor<Float>, sample b: Int) -> [Int] {
        (0..<inputs.shape[0]).map { t in
            let row = (0..<inputs.shape[2]).map { inputs[t, b, $0] }
            XCTAssertEqual(row.reduce(0, +), 1, "step \(t) is not a one-hot")
            return row.firstIndex(of: 1)!
        }
    }

    func testAddingLayout() {
        let task = try! AddingTask(inputSize: 4, seed: 5)
        let batch = task.batch(step: 2, firstSample: 0, count: 8, lengths: .fixed(5))
        XCTAssertEqual(batch.inputs.shape, [6, 8, 4])
        XCTAssertEqual(batch.targets.shape, [1, 8, 1])
        XCTAssertNil(batch.lengths)
        XCTAssertEqual(batch.drawnLength, 5)
        var rows = Set<[Int]>()
        for b in 0..<8 {
            let d = digits(batch.inputs, sample: b)
            XCTAssertEqual(d.last, 3, "end marker")
            XCTAssertTrue(d.dropLast().allSatisfy { (0...2).contains($0) })
            XCTAssertEqual(batch.targets[0, b, 0], Float(d.dropLast().reduce(0, +)))
            rows.insert(d)
        }
        XCTAssertGreaterThan(rows.count, 1, "samples are drawn per sample, not repeated")
        var seen = Set<Int>()
        for b in 0..<64 { for d in digits(task.batch(step: 0, firstSample: b, count: 1, lengths: .fixed(4)).inputs, sample: 0).dropLast() { seen.insert(d) } }
        XCTAssertEqual(seen, [0, 1, 2])
    }

    func testAddingLossAndMetrics() {
        let task = try! AddingTask(inputSize: 3, seed: 6)
        let batch = task.batch(step: 1, firstSample: 0, count: 5, lengths: .fixed(4))
        let z = logits(for: batch, task)
        var direct = 0.0
        for b in 0..<5 {
            var sum = 0.0
            for t in 0..<5 { for k in 0..<3 { sum += Double(z[t, b, k]) } }
            direct += (sum - Double(batch.targets[0, b, 0])) * (sum - Double(batch.targets[0, b, 0]))
        }
        XCTAssertEqual(task.evaluate(logits: z, batch: batch, globalBatchSize: 5).loss, direct / 5, accuracy: 1e-12)

        // Perfect: the outputs add up to the sum (spread over two steps).
        var perfect = Tensor<Float>(shape: z.shape)
        for b in 0..<5 {
            perfect[0, b, 1] = 0.5
            perfect[4, b, 2] = batch.targets[0, b, 0] - 0.5
        }
        let good = task.evaluate(logits: perfect, batch: batch, globalBatchSize: 5)
        XCTAssertEqual(good.loss, 0, accuracy: 1e-12)
        XCTAssertEqual(good.metrics[MetricKey.accuracy]!.mean, 1)
        XCTAssertEqual(good.metrics[MetricKey.absoluteError]!.mean, 0, accuracy: 1e-6)

        // All zero: ŷ = 0.
        let targets = batch.targets.storage.map(Double.init)
        let zero = task.evaluate(logits: Tensor(shape: z.shape), batch: batch, globalBatchSize: 5)
        XCTAssertEqual(zero.loss, targets.map { $0 * $0 }.reduce(0, +) / 5, accuracy: 1e-12)
        XCTAssertEqual(zero.metrics[MetricKey.absoluteError], MetricSum(sum: targets.reduce(0, +), count: 5))
        XCTAssertEqual(zero.metrics[MetricKey.accuracy], MetricSum(sum: Double(targets.filter { $0 == 0 }.count), count: 5))
    }

    // MARK: Argmax

    func testArgmaxLayout() {
        // Two digit values: ties are common, the first maximum must win.
        let task = try! ArgmaxTask(inputSize: 3, seed: 9)
        let batch = task.batch(step: 0, firstSample: 0, count: 32, lengths: .fixed(4))
        XCTAssertEqual(batch.inputs.shape, [5, 32, 3])
        XCTAssertEqual(batch.targets.shape, [1, 32, 1])
        var ties = 0
        for b in 0..<32 {
            let d = digits(batch.inputs, sample: b)
            XCTAssertEqual(d.last, 2, "end marker")
            let values = Array(d.dropLast())
            let best = values.max()!
            XCTAssertEqual(batch.targets[0, b, 0], Float(values.firstIndex(of: best)!))
            if values.filter({ $0 == best }).count > 1 { ties += 1 }
        }
        XCTAssertGreaterThan(ties, 0)
        let wide = try! ArgmaxTask(inputSize: 8, seed: 9).batch(step: 3, firstSample: 0, count: 16, lengths: .fixed(6))
        for b in 0..<16 {
            let values = Array(digits(wide.inputs, sample: b).dropLast())
            XCTAssertEqual(wide.targets[0, b, 0], Float(values.firstIndex(of: values.max()!)!))
        }
    }

    func testArgmaxLossAndMetrics() {
        for objective in ArgmaxTask.Objective.allCases {
            let task = try! ArgmaxTask(inputSize: 4, seed: 1, objective: objective)
            let batch = task.batch(step: 2, firstSample: 0, count: 6, lengths: .fixed(5))
            let z = logits(for: batch, task)
            let regressed = objective == .allSteps ? Array(0..<6) : [5]
            var direct = 0.0
            for b in 0..<6 { for t in regressed {
                let sum = (0..<4).map { Double(z[t, b, $0]) }.reduce(0, +)
                direct += (sum - Double(batch.targets[0, b, 0])) * (sum - Double(batch.targets[0, b, 0]))
            } }
            XCTAssertEqual(task.evaluate(logits: z, batch: batch, globalBatchSize: 6).loss, direct / Double(6 * regressed.count),
                           accuracy: 1e-12, "\(objective)")

            // The last step's outputs add up to the index, the other steps are 0.
            var lastRight = Tensor<Float>(shape: z.shape)
            for b in 0..<6 { lastRight[5, b, 0] = batch.targets[0, b, 0] + 0.25 }
            let good = task.evaluate(logits: lastRight, batch: batch, globalBatchSize: 6)
            XCTAssertEqual(good.metrics[MetricKey.accuracy]!.mean, 1)
            XCTAssertEqual(good.metrics[MetricKey.absoluteError]!.mean, 0.25, accuracy: 1e-6)
            let targets = batch.targets.storage.map(Double.init)
            let others = objective == .allSteps ? 5 * targets.map { $0 * $0 }.reduce(0, +) : 0
            XCTAssertEqual(good.loss, (others + 6 * 0.0625) / Double(6 * regressed.count), accuracy: 1e-9)

            let zero = task.evaluate(logits: Tensor(shape: z.shape), batch: batch, globalBatchSize: 6)
            XCTAssertEqual(zero.loss, targets.map { $0 * $0 }.reduce(0, +) / 6, accuracy: 1e-12)
            XCTAssertEqual(zero.metrics[MetricKey.accuracy], MetricSum(sum: Double(targets.filter { $0 == 0 }.count), count: 6))
        }
    }

    // MARK: Repeat copy

    func testRepeatCopyHandCase() {
        // One bit, pattern length 1, two repeats: T = 1·3 + 3 = 6.
        let task = try! RepeatCopyTask(numBits: 1, minLength: 1, maxLength: 1, minRepeats: 2, maxRepeats: 2, seed: 3)
        let batch = task.batch(step: 0, firstSample: 0, count: 2, lengths: .fixed(1))
        XCTAssertEqual(batch.inputs.shape, [6, 2, 3])
        XCTAssertEqual(batch.targets.shape, [6, 2, 2])
        XCTAssertEqual(batch.lengths, [6, 6])
        for b in 0..<2 {
            let p = batch.inputs[1, b, 0]
            XCTAssertTrue(p == 0 || p == 1)
            let inputs = (0..<6).map { t in (0..<3).map { batch.inputs[t, b, $0] } }
            XCTAssertEqual(inputs, [[0, 1, 0], [p, 0, 0], [0, 0, 0.2], [0, 0, 0], [0, 0, 0], [0, 0, 0]])
            let targets = (0..<6).map { t in (0..<2).map { batch.targets[t, b, $0] } }
            XCTAssertEqual(targets, [[0, 0], [0, 0], [0, 0], [p, 0], [p, 0], [0, 1]])
            XCTAssertEqual((0..<6).map { batch.mask![$0, b] }, [0, 0, 0, 1, 1, 1])
        }
    }

    func testRepeatCopyLayout() {
        let task = try! RepeatCopyTask(numBits: 3, minLength: 1, maxLength: 3, minRepeats: 1, maxRepeats: 3, normMax: 10, seed: 12)
        XCTAssertEqual(task.inputSize, 5)
        XCTAssertEqual(task.outputSize, 4)
        let batch = task.batch(step: 5, firstSample: 0, count: 64, lengths: .uniform(min: 1, max: 3))
        XCTAssertEqual(batch.steps, 3 * 4 + 3, "padded to the longest sequence the spec allows")
        XCTAssertEqual(batch.drawnLength, 3)
        var patternLengths = Set<Int>(), repeatCounts = Set<Int>()
        for b in 0..<64 {
            // Decode Lp from the repeat-count step and Rp from its value.
            let repeatStep = (0..<batch.steps).first { batch.inputs[$0, b, 4] != 0 }!
            let p = repeatStep - 1, r = Int((batch.inputs[repeatStep, b, 4] * 10).rounded())
            patternLengths.insert(p); repeatCounts.insert(r)
            let n = p * (r + 1) + 3
            XCTAssertEqual(batch.lengths![b], n)
            for t in 0..<batch.steps {
                XCTAssertEqual(batch.inputs[t, b, 3], t == 0 ? 1 : 0, "start flag")
                XCTAssertEqual(batch.inputs[t, b, 4], t == p + 1 ? Float(Double(r) / 10) : 0, "repeat channel")
                XCTAssertEqual(batch.mask![t, b], t >= p + 2 && t < n ? 1 : 0, "mask")
                for j in 0..<3 {
                    if !(1...p).contains(t) { XCTAssertEqual(batch.inputs[t, b, j], 0) }
                    let expected: Float = t >= p + 2 && t < p + 2 + p * r ? batch.inputs[1 + (t - p - 2) % p, b, j] : 0
                    XCTAssertEqual(batch.targets[t, b, j], expected, "target t \(t) b \(b) j \(j)")
                }
                XCTAssertEqual(batch.targets[t, b, 3], t == n - 1 ? 1 : 0, "end flag")
            }
        }
        XCTAssertEqual(patternLengths, [1, 2, 3])
        XCTAssertEqual(repeatCounts, [1, 2, 3])

        // Fixed lengths and the task's minimum length as the floor of a generic spec.
        let fixed = task.batch(step: 1, firstSample: 0, count: 8, lengths: .fixed(2))
        XCTAssertEqual(fixed.steps, 2 * 4 + 3)
        for b in 0..<8 { XCTAssertEqual(fixed.inputs[3, b, 4] != 0, true, "Lp = 2") }
        let floored = try! RepeatCopyTask(numBits: 2, minLength: 3, maxLength: 4, seed: 1)
        let drawn = floored.batch(step: 0, firstSample: 0, count: 32, lengths: .uniform(min: 1, max: 4))
        for b in 0..<32 {
            let p = (0..<drawn.steps).first { drawn.inputs[$0, b, 3] != 0 }! - 1
            XCTAssertTrue((3...4).contains(p))
        }
    }

    func testRepeatCopyCostAndMetrics() {
        for (timeAverage, inBits) in [(false, false), (true, false), (false, true), (true, true)] {
            let task = try! RepeatCopyTask(numBits: 2, minLength: 1, maxLength: 3, minRepeats: 1, maxRepeats: 2,
                                           timeAverage: timeAverage, logProbInBits: inBits, seed: 2)
            let batch = task.batch(step: 0, firstSample: 0, count: 5, lengths: .uniform(min: 1, max: 3))
            let z = logits(for: batch, task)
            var direct = 0.0
            for b in 0..<5 {
                var sample = 0.0, maskCount = 0.0
                for t in 0..<batch.steps {
                    let m = Double(batch.mask![t, b])
                    maskCount += m
                    for k in 0..<3 { sample += m * crossEntropy(z[t, b, k], batch.targets[t, b, k]) }
                }
                direct += timeAverage ? sample / (maskCount + Double(Float.ulpOfOne)) : sample
            }
            direct /= 5
            if inBits { direct /= log(2) }
            XCTAssertEqual(task.evaluate(logits: z, batch: batch, globalBatchSize: 5).loss, direct, accuracy: 1e-12 * direct)

            let masked = batch.mask!.storage.reduce(0, +)
            let perfect = Tensor(shape: z.shape, storage: batch.targets.storage.map { $0 * 20 - 10 })
            let good = task.evaluate(logits: perfect, batch: batch, globalBatchSize: 5).metrics
            XCTAssertEqual(good[MetricKey.bitErrors], MetricSum(sum: 0, count: 5))
            XCTAssertEqual(good[MetricKey.maskedBitAccuracy], MetricSum(sum: Double(masked) * 3, count: Double(masked) * 3))

            let zero = task.evaluate(logits: Tensor(shape: z.shape), batch: batch, globalBatchSize: 5)
            var ones = 0.0
            for i in 0..<batch.targets.count where batch.mask!.storage[i / 3] != 0 { ones += Double(batch.targets.storage[i]) }
            XCTAssertEqual(ones, Double(batch.targets.storage.reduce(0, +)), "targets are 0 outside the mask")
            XCTAssertEqual(zero.metrics[MetricKey.bitErrors], MetricSum(sum: ones, count: 5))
            XCTAssertEqual(zero.metrics[MetricKey.maskedBitAccuracy], MetricSum(sum: Double(masked) * 3 - ones, count: Double(masked) * 3))
            if !timeAverage {
                XCTAssertEqual(zero.loss, Double(masked) * 3 * log(2) / 5 / (inBits ? log(2) : 1), accuracy: 1e-12)
            }
        }
    }

    // MARK: Associative recall

    func testAssociativeRecallLayout() {
        let task = try! AssociativeRecallTask(bits: 6, itemLength: 3, seed: 4)
        XCTAssertEqual(task.inputSize, 8)
        XCTAssertEqual(task.outputSize, 6)
        let batch = task.batch(step: 2, firstSample: 0, count: 16, lengths: .fixed(4))
        let (k, items, steps) = (3, 4, 4 * 4 + 2 * 3 + 2)
        XCTAssertEqual(batch.inputs.shape, [steps, 16, 8])
        XCTAssertEqual(batch.targets.shape, [steps, 16, 6])
        XCTAssertEqual(batch.drawnLength, 4)
        XCTAssertNil(batch.lengths)
        var queries = Set<Int>()
        for b in 0..<16 {
            func vectors(_ start: Int, _ tensor: Tensor<Float>) -> [[Float]] {
                (start..<(start + k)).map { t in (0..<6).map { tensor[t, b, $0] } }
            }
            let list = (0..<items).map { vectors($0 * (k + 1) + 1, batch.inputs) }
            for t in 0..<steps {
                let itemDelimiter: Float = t < items * (k + 1) && t % (k + 1) == 0 ? 1 : 0
                let queryDelimiter: Float = t == 16 || t == 20 ? 1 : 0
                XCTAssertEqual(batch.inputs[t, b, 6], itemDelimiter, "item delimiter t \(t)")
                XCTAssertEqual(batch.inputs[t, b, 7], queryDelimiter, "query delimiter t \(t)")
                let dataStep = (t < 16 && t % 4 != 0) || (17...19).contains(t)
                if !dataStep { XCTAssertEqual((0..<6).map { batch.inputs[t, b, $0] }, Array(repeating: 0, count: 6), "t \(t)") }
                XCTAssertEqual(batch.mask![t, b], t >= steps - k ? 1 : 0)
                if t < steps - k { XCTAssertEqual((0..<6).map { batch.targets[t, b, $0] }, Array(repeating: 0, count: 6)) }
            }
            let query = vectors(17, batch.inputs)
            let q = list.firstIndex(of: query)
            XCTAssertNotNil(q, "the query is one of the items")
            XCTAssertLessThan(q ?? items, items - 1, "the query is not the last item")
            if let q, q < items - 1 { XCTAssertEqual(vectors(steps - k, batch.targets), list[q + 1], "the answer follows the query") }
            queries.insert(q ?? -1)
        }
        XCTAssertEqual(queries, [0, 1, 2])
    }

    func testAssociativeRecallLossAndMetrics() {
        let task = try! AssociativeRecallTask(bits: 2, itemLength: 2, seed: 8)
        let batch = task.batch(step: 0, firstSample: 0, count: 4, lengths: .fixed(3))
        let z = logits(for: batch, task)
        var direct = 0.0
        for t in (batch.steps - 2)..<batch.steps { for b in 0..<4 { for j in 0..<2 { direct += crossEntropy(z[t, b, j], batch.targets[t, b, j]) } } }
        XCTAssertEqual(task.evaluate(logits: z, batch: batch, globalBatchSize: 4).loss, direct / 16, accuracy: 1e-12)

        let perfect = Tensor(shape: z.shape, storage: batch.targets.storage.map { $0 * 20 - 10 })
        let good = task.evaluate(logits: perfect, batch: batch, globalBatchSize: 4).metrics
        XCTAssertEqual(good[MetricKey.maskedBitAccuracy], MetricSum(sum: 16, count: 16))
        XCTAssertEqual(good[MetricKey.bitErrors], MetricSum(sum: 0, count: 4))

        let zero = task.evaluate(logits: Tensor(shape: z.shape), batch: batch, globalBatchSize: 4)
        let ones = Double(batch.targets.storage.reduce(0, +))
        XCTAssertEqual(zero.loss, log(2), accuracy: 1e-12)
        XCTAssertEqual(zero.metrics[MetricKey.bitErrors], MetricSum(sum: ones, count: 4))
        XCTAssertEqual(zero.metrics[MetricKey.maskedBitAccuracy], MetricSum(sum: 16 - ones, count: 16))
    }

    // MARK: Factory and metric pairs

    func testFactory() throws {
        let expected: [(String, String, Int, Int)] = [
            ("copy", "CopyTask", 6, 6), ("adding", "AddingTask", 6, 6), ("argmax", "ArgmaxTask", 6, 6),
            ("repeat-copy", "RepeatCopyTask", 6, 5), ("associative-recall", "AssociativeRecallTask", 8, 6),
        ]
        XCTAssertEqual(Tasks.names, expected.map(\.0))
        for (name, type, x, y) in expected {
            let task = try Tasks.make(name: name, inputSize: nil, seed: 1)
            XCTAssertEqual(task.name, name)
            XCTAssertEqual("\(Swift.type(of: task))", type)
            XCTAssertEqual(task.inputSize, x, name)
            XCTAssertEqual(task.outputSize, y, name)
        }
        XCTAssertEqual(try Tasks.make(name: "repeat_copy", inputSize: 10, seed: 1).outputSize, 9)
        var options = Tasks.Options()
        options.argmaxObjective = .lastStep
        XCTAssertEqual((try Tasks.make(name: "argmax", inputSize: 4, seed: 1, options: options) as? ArgmaxTask)?.objective, .lastStep)

        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        let unknown = message { try Tasks.make(name: "sorting", inputSize: nil, seed: 1) }
        XCTAssertTrue(unknown.contains("'sorting'"), unknown)
        XCTAssertFalse(unknown.contains("\n"))
        XCTAssertTrue(message { try Tasks.make(name: "copy", inputSize: 1, seed: 1) }.contains("got 1"))
        XCTAssertTrue(message { try Tasks.make(name: "adding", inputSize: 0, seed: 1) }.contains("got 0"))
        XCTAssertTrue(message { try Tasks.make(name: "argmax", inputSize: -3, seed: 1) }.contains("got -3"))
        XCTAssertTrue(message { try Tasks.make(name: "repeat-copy", inputSize: 2, seed: 1) }.contains("got 2"))
        XCTAssertTrue(message { try Tasks.make(name: "associative-recall", inputSize: 2, seed: 1) }.contains("got 2"))
        options = Tasks.Options()
        options.maxRepeats = 0
        XCTAssertTrue(message { try Tasks.make(name: "repeat-copy", inputSize: nil, seed: 1, options: options) }.contains("1…0"))
        options = Tasks.Options()
        options.minItems = 1
        XCTAssertTrue(message { try Tasks.make(name: "associative-recall", inputSize: nil, seed: 1, options: options) }.contains("1…6"))
    }

    func testMetricSum() {
        let a = MetricSum(sum: 3, count: 4), b = MetricSum(sum: 1, count: 4)
        XCTAssertEqual(a + b, MetricSum(sum: 4, count: 8))
        XCTAssertEqual((a + b).mean, 0.5)
        XCTAssertEqual(MetricSum(sum: 0, count: 0).mean, 0)
        var total: [String: MetricSum] = ["x": a]
        total.accumulate(["x": b, "y": a])
        XCTAssertEqual(total, ["x": a + b, "y": a])
        XCTAssertEqual(LengthSpec.uniform(min: 2, max: 5).range, 2...5)
        XCTAssertEqual(LengthSpec.fixed(3).range, 3...3)
    }
}

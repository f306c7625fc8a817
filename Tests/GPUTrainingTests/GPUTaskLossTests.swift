import XCTest
import TestSupport
import DNCGPU
import DNCGPUTraining
import DNCNumerics
import DNCTraining

/// GPUTaskLoss on the emulated device against each task's `evaluate`: a real batch from the
/// task (a rank's share of a larger global batch, so the normalisers are the global batch's),
/// random logits (with some samples made right, so the metrics count both ways), and the loss,
/// every metric pair and the whole gradient compared.
final class GPUTaskLossTests: XCTestCase {
    /// Logits of the batch's shape, uniform in [−3, 3).
    static func randomLogits(_ batch: TaskBatch, outputs: Int, seed: UInt64) -> Tensor<Float> {
        var random = SplitMix(seed: seed)
        let shape = [batch.steps, batch.count, outputs]
        return Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { _ in Float(6 * random.uniform() - 3) })
    }

    /// Compares `GPUTaskLoss.evaluate` with `task.evaluate` on `logits`.
    func check(_ task: any SequenceTask, _ batch: TaskBatch, logits: Tensor<Float>, globalBatchSize: Int,
               lossTolerance: Double = 1e-12, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNil(GPUTaskLoss.unsupportedReason(task), label, file: file, line: line)
        let expected = task.evaluate(logits: logits, batch: batch, globalBatchSize: globalBatchSize)
        for threads in [256, 4] {
            let device = EmulatedKernelDevice()
            let loss = try GPUTaskLoss(task, device: device, threads: threads)
            let logitsOnDevice = try device.array(logits.storage)
            let gradient = try device.allocate(bytes: logits.count * MemoryLayout<Float>.stride)  // NaN-filled: every element must be written
            let gradientArray = DeviceArray<Float>(pointer: gradient.pointer, count: logits.count)
            for repeatIndex in 0..<2 {  // the second call reuses the device buffers
                let result = try loss.evaluate(logits: logitsOnDevice, logitShape: logits.shape, batch: batch, globalBatchSize: globalBatchSize,
                                               gradient: gradientArray)
                let context = "\(label) (\(threads) threads, call \(repeatIndex + 1))"
                XCTAssertTrue(abs(result.loss - expected.loss) <= lossTolerance * max(1, abs(expected.loss)),
                              "\(context): loss \(result.loss) vs \(expected.loss)", file: file, line: line)
                XCTAssertEqual(Set(result.metrics.keys), Set(expected.metrics.keys), context, file: file, line: line)
                for (key, value) in expected.metrics {
                    let got = result.metrics[key] ?? MetricSum(sum: .nan, count: .nan)
                    XCTAssertTrue(abs(got.sum - value.sum) <= 1e-9 * max(1, abs(value.sum)) && got.count == value.count,
                                  "\(context): \(key) \(got) vs \(value)", file: file, line: line)
                }
                let computed = try device.download(gradientArray)
                let scale = expected.gradient.storage.map { abs(Double($0)) }.max() ?? 0
                XCTAssertGreaterThan(scale, 0, context, file: file, line: line)
                var worst = 0.0, at = 0
                for i in 0..<computed.count {
                    let error = abs(Double(computed[i]) - Double(expected.gradient.storage[i]))
                    if !(error <= worst) { worst = error; at = i }
                }
                XCTAssertTrue(worst <= 1e-6 * scale, "\(context): gradient element \(at) \(computed[at]) vs \(expected.gradient.storage[at]) (largest \(scale))",
                              file: file, line: line)
            }
            device.free(gradient)
            device.free(logitsOnDevice)
        }
    }

    func testCopy() throws {
        for objective in CopyTask.Objective.allCases {
            let task = try CopyTask(inputSize: 6, seed: 3, objective: objective)
            let batch = task.batch(step: 4, firstSample: 2, count: 3, lengths: .uniform(min: 3, max: 8))
            var logits = Self.randomLogits(batch, outputs: task.outputSize, seed: 1)
            // Sample 0 right everywhere: the bit metrics count right bits too.
            for i in 0..<logits.count where (i / task.outputSize) % batch.count == 0 {
                logits[flat: i] = batch.targets[flat: i] == 1 ? 2.5 : -2.5
            }
            try check(task, batch, logits: logits, globalBatchSize: 5, "copy \(objective)")
        }
    }

    func testRepeatCopy() throws {
        for (timeAverage, bits) in [(false, false), (true, false), (true, true)] {
            let task = try RepeatCopyTask(numBits: 4, minLength: 1, maxLength: 3, minRepeats: 1, maxRepeats: 3, timeAverage: timeAverage,
                                          logProbInBits: bits, seed: 5)
            let batch = task.batch(step: 7, firstSample: 1, count: 4, lengths: task.defaultLengths)
            try check(task, batch, logits: Self.randomLogits(batch, outputs: task.outputSize, seed: 2), globalBatchSize: 6,
                      "repeat-copy time average \(timeAverage), bits \(bits)")
        }
    }

    func testAssociativeRecall() throws {
        let task = try AssociativeRecallTask(bits: 6, itemLength: 3, minItems: 2, maxItems: 5, seed: 8)
        let batch = task.batch(step: 3, firstSample: 0, count: 4, lengths: task.defaultLengths)
        try check(task, batch, logits: Self.randomLogits(batch, outputs: task.outputSize, seed: 3), globalBatchSize: 4, "associative recall")
    }

    func testAdding() throws {
        let task = try AddingTask(inputSize: 6, seed: 2)
        let batch = task.batch(step: 5, firstSample: 3, count: 4, lengths: .uniform(min: 3, max: 9))
        var logits = Self.randomLogits(batch, outputs: task.outputSize, seed: 4)
        // Samples 1 and 2 predict within ½ of their sum (accuracy counts them).
        let y = task.outputSize, count = batch.count
        for b in [1, 2] {
            for t in 0..<batch.steps {
                for k in 0..<y { logits[flat: (t * count + b) * y + k] = batch.targets[flat: b] / Float(batch.steps * y) + (b == 1 ? 0.001 : -0.002) }
            }
        }
        try check(task, batch, logits: logits, globalBatchSize: 7, "adding")
    }

    func testArgmax() throws {
        for objective in ArgmaxTask.Objective.allCases {
            let task = try ArgmaxTask(inputSize: 6, seed: 4, objective: objective)
            let batch = task.batch(step: 2, firstSample: 0, count: 5, lengths: .uniform(min: 3, max: 7))
            var logits = Self.randomLogits(batch, outputs: task.outputSize, seed: 5)
            let y = task.outputSize, count = batch.count, last = batch.steps - 1
            for b in [0, 3] {
                for k in 0..<y { logits[flat: (last * count + b) * y + k] = batch.targets[flat: b] / Float(y) + 0.01 }
            }
            try check(task, batch, logits: logits, globalBatchSize: 8, "argmax \(objective)")
        }
    }

    func testBabi() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("gpu-babi"), stories: 6)
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try BabiDataset(data: root.path, set: "en", tasks: [1, 8, 19], validationFraction: 0.2)
        let task = try BabiTask(dataset: dataset, tasks: [1, 8, 19], seed: 3, bucketSize: 32)
        // Stories of each task (8 and 19 have several answer words per question).
        let samples = [1, 8, 19, 8, 1].enumerated().map { index, t in dataset.train.filter { $0.task == t }[index % 2] }
        let batch = task.makeBatch(samples)
        var logits = Self.randomLogits(batch, outputs: task.outputSize, seed: 6)
        // Some answer rows right (their class clearly largest), one question half right.
        let v = task.outputSize
        var answer = 0
        for r in 0..<(batch.steps * batch.count) where batch.targets[flat: r * 3] >= 0 {
            if answer % 3 != 2 { logits[flat: r * v + Int(batch.targets[flat: r * 3])] = 9 }
            answer += 1
        }
        try check(task, batch, logits: logits, globalBatchSize: 9, lossTolerance: 1e-5, "babi")
    }

    func testUnknownTasksAreRefusedWithAReason() {
        struct Silent: SequenceTask {
            var name: String { "silent" }
            var inputSize: Int { 1 }
            var outputSize: Int { 1 }
            var primaryMetric: (key: String, lowerIsBetter: Bool) { ("x", true) }
            func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch {
                TaskBatch(inputs: Tensor(shape: [1, count, 1]), targets: Tensor(shape: [1, count, 1]), lengths: nil, drawnLength: 1)
            }
            func evaluate(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int) -> TaskEvaluation {
                TaskEvaluation(loss: 0, gradient: logits, metrics: [:])
            }
        }
        XCTAssertNotNil(GPUTaskLoss.unsupportedReason(Silent()))
        XCTAssertThrowsError(try GPUTaskLoss(Silent(), device: EmulatedKernelDevice()))
    }
}

extension GPUTaskLossTests {
    /// The gradient of one chunk of steps (truncated BPTT) equals `task.gradient(…steps:)`, for a
    /// per-step loss (copy, associative recall) and the adding task, whose gradient needs every
    /// step; the rows after the chunk are zero, as in the CPU trainer's logits.
    func testChunkGradientsMatchTheCPU() throws {
        let tasks: [any SequenceTask] = [
            try CopyTask(inputSize: 5, seed: 1, objective: .outputPhase),
            try AssociativeRecallTask(bits: 4, itemLength: 2, minItems: 2, maxItems: 4, seed: 2),
            try AddingTask(inputSize: 5, seed: 3),
        ]
        for task in tasks {
            let batch = task.batch(step: 1, firstSample: 0, count: 3, lengths: .fixed(4))
            var logits = Self.randomLogits(batch, outputs: task.outputSize, seed: 7)
            let row = batch.count * task.outputSize
            for chunk in stride(from: 0, to: batch.steps, by: 3).map({ $0..<min($0 + 3, batch.steps) }) {
                // Steps from chunk.upperBound on are not computed yet: zeros.
                for i in (chunk.upperBound * row)..<logits.count { logits[flat: i] = 0 }
                let expected = task.gradient(logits: logits, batch: batch, globalBatchSize: 4, steps: chunk)
                let device = EmulatedKernelDevice()
                let loss = try GPUTaskLoss(task, device: device)
                let output = try device.zeros(Float.self, count: chunk.count * row)
                try loss.gradient(logits: try device.array(logits.storage), logitShape: logits.shape, batch: batch, globalBatchSize: 4,
                                  steps: chunk, gradient: output)
                let computed = try device.download(output)
                XCTAssertEqual(computed.count, expected.count)
                let scale = expected.storage.map { abs(Double($0)) }.max() ?? 0
                for i in 0..<min(computed.count, expected.count) {
                    XCTAssertEqual(Double(computed[i]), Double(expected.storage[i]), accuracy: 1e-6 * max(scale, 1e-30),
                                   "\(task.name) steps \(chunk) element \(i)")
                }
            }
        }
    }
}

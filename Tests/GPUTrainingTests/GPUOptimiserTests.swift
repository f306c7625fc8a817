import XCTest
import DNCGPU
import DNCGPUTraining
import DNCLayers
import DNCNumerics

/// GPUOptimiser and GPUGradientClipping on the emulated device against the CPU optimisers and
/// clipGlobalNorm: every algorithm with non-default hyper-parameters (both lerp branches, weight
/// decay, momentum, Nesterov, AMSGrad, centring), several steps under a changing learning rate,
/// the exported state, and export/import both ways, in Double (1e-12) and Float (1e-4).
final class GPUOptimiserTests: XCTestCase {
    /// Each case builds a fresh CPU optimiser (twice: one steps on the CPU, one seeds the device).
    static func cases<T: Real>(_: T.Type) -> [(String, () throws -> any Optimiser<T>)] {
        [
            ("sgd plain", { try SGD<T>(learningRate: 0.05, weightDecay: 0.01) }),
            ("sgd momentum", { try SGD<T>(learningRate: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }),
            ("sgd nesterov", { try SGD<T>(learningRate: 0.03, momentum: 0.8, weightDecay: 0.02, nesterov: true) }),
            ("adam amsgrad", { try Adam<T>(learningRate: 0.01, betas: (0.8, 0.95), eps: 1e-6, weightDecay: 0.01, amsgrad: true) }),
            ("adam seed", { try Optimisers.seed("adam", learningRate: 0.003, scalar: T.self) }),  // the Float fast path
            ("adam low beta1", { try Adam<T>(learningRate: 0.01, betas: (0.3, 0.9), eps: 1e-7) }),
            ("adamax", { try Adamax<T>(learningRate: 0.02, betas: (0.7, 0.9), eps: 1e-7, weightDecay: 0.01) }),
            ("adamax low beta1", { try Adamax<T>(learningRate: 0.02, betas: (0.2, 0.99)) }),
            ("rmsprop centred momentum", { try RMSprop<T>(learningRate: 0.01, alpha: 0.9, eps: 1e-6, weightDecay: 0.01, momentum: 0.5, centered: true) }),
            ("rmsprop low alpha", { try RMSprop<T>(learningRate: 0.01, alpha: 0.3, eps: 1e-5, centered: true) }),
            ("rmsprop plain", { try RMSprop<T>(learningRate: 0.01, alpha: 0.95) }),
            ("adagrad", { try Adagrad<T>(learningRate: 0.1, learningRateDecay: 0.05, weightDecay: 0.01, initialAccumulatorValue: 0.1, eps: 1e-8) }),
            ("adadelta", { try Adadelta<T>(learningRate: 0.5, rho: 0.8, eps: 1e-5, weightDecay: 0.01) }),
        ]
    }

    /// A store of a few slots (one longer than a block, so several blocks run) with values in [−1, 1).
    static func store<T: Real>(_: T.Type, seed: UInt64) -> ParameterStore<T> {
        let store = ParameterStore<T>()
        _ = store.add("w", shape: [13, 31])
        _ = store.add("b", shape: [7])
        _ = store.add("v", shape: [300])
        var random = SplitMix(seed: seed)
        for i in 0..<store.count { store.values[i] = T(2 * random.uniform() - 1) }
        return store
    }

    static func randomGradients<T: Real>(_ store: ParameterStore<T>, _ random: inout SplitMix) {
        for i in 0..<store.count { store.gradients[i] = T(4 * random.uniform() - 2) }
    }

    func assertClose<T: Real>(_ a: [T], _ b: [T], _ tolerance: Double, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        var worst = 0.0, at = 0
        for i in 0..<min(a.count, b.count) {
            let x = Double(a[i]), y = Double(b[i])
            let error = abs(x - y) / max(1, abs(y))
            if !(error <= worst) { worst = error; at = i }  // NaN counts as worst
        }
        XCTAssertTrue(worst <= tolerance, "\(message): element \(at) differs by \(worst) (\(a.isEmpty ? 0 : Double(a[at])) vs \(b.isEmpty ? 0 : Double(b[at])))",
                      file: file, line: line)
    }

    func assertStatesClose<T: Real>(_ a: OptimiserState<T>, _ b: OptimiserState<T>, _ tolerance: Double, _ message: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.algorithm, b.algorithm, message, file: file, line: line)
        XCTAssertEqual(a.step, b.step, message, file: file, line: line)
        XCTAssertEqual(Set(a.buffers.keys), Set(b.buffers.keys), message, file: file, line: line)
        for (key, values) in a.buffers { assertClose(values, b.buffers[key] ?? [], tolerance, "\(message) \(key)", file: file, line: line) }
    }

    /// Steps the CPU optimiser and the device one side by side.
    func checkOptimisers<T: Real>(_: T.Type, tolerance: Double) throws {
        for (label, make) in Self.cases(T.self) {
            let cpuStore = Self.store(T.self, seed: 3)
            let device = EmulatedKernelDevice()
            let parameters = try DeviceParameters(store: Self.store(T.self, seed: 3), device: device)
            let cpu = try make()
            let gpu = try GPUOptimiser(try make(), parameters: parameters)
            XCTAssertEqual(try gpu.exportState(), cpu.exportState(), "\(label): before the first step")
            var random = SplitMix(seed: 11)
            let baseRate = cpu.learningRate
            for step in 1...5 {
                Self.randomGradients(cpuStore, &random)
                try device.upload(Array(UnsafeBufferPointer(start: cpuStore.gradients, count: cpuStore.count)), to: parameters.gradients)
                cpu.learningRate = baseRate * (1 - 0.1 * Double(step))  // a schedule
                gpu.learningRate = cpu.learningRate
                cpu.step(store: cpuStore)
                try gpu.step()
                assertClose(try device.download(parameters.values), Array(UnsafeBufferPointer(start: cpuStore.values, count: cpuStore.count)),
                            tolerance, "\(label) \(T.self): values after step \(step)")
            }
            let cpuState = cpu.exportState(), gpuState = try gpu.exportState()
            assertStatesClose(gpuState, cpuState, tolerance, "\(label) \(T.self): exported state")

            // The CPU's state into a fresh device optimiser, and the device's into a fresh CPU one:
            // one more step each, from the same values, agrees with the original CPU optimiser.
            let resumed = try GPUOptimiser(try make(), parameters: parameters)
            try resumed.importState(cpuState)
            XCTAssertEqual(try resumed.exportState(), cpuState, "\(label) \(T.self): import then export is exact")
            let cpuResumed = try make()
            try cpuResumed.importState(gpuState)
            let otherStore = Self.store(T.self, seed: 3)
            otherStore.values.update(from: cpuStore.values, count: cpuStore.count)
            try device.upload(Array(UnsafeBufferPointer(start: cpuStore.values, count: cpuStore.count)), to: parameters.values)
            Self.randomGradients(cpuStore, &random)
            otherStore.gradients.update(from: cpuStore.gradients, count: cpuStore.count)
            try device.upload(Array(UnsafeBufferPointer(start: cpuStore.gradients, count: cpuStore.count)), to: parameters.gradients)
            resumed.learningRate = cpu.learningRate
            cpuResumed.learningRate = cpu.learningRate
            cpu.step(store: cpuStore)
            cpuResumed.step(store: otherStore)
            try resumed.step()
            let expected = Array(UnsafeBufferPointer(start: cpuStore.values, count: cpuStore.count))
            assertClose(try device.download(parameters.values), expected, tolerance, "\(label) \(T.self): a step after importing the CPU's state")
            assertClose(Array(UnsafeBufferPointer(start: otherStore.values, count: otherStore.count)), expected, tolerance,
                        "\(label) \(T.self): a CPU step after importing the device's state")
            assertStatesClose(try resumed.exportState(), cpu.exportState(), tolerance, "\(label) \(T.self): state after the resumed step")
            XCTAssertEqual(device.launches, 6, "\(label): one launch per step")
        }
    }

    func testOptimisersMatchTheCPUInDouble() throws { try checkOptimisers(Double.self, tolerance: 1e-12) }
    func testOptimisersMatchTheCPUInFloat() throws { try checkOptimisers(Float.self, tolerance: 1e-4) }

    func testStateIsCarriedOverFromTheCPUOptimiserAndCheckedOnImport() throws {
        let store = Self.store(Double.self, seed: 5)
        var random = SplitMix(seed: 2)
        let cpu = try Adam<Double>(learningRate: 0.01, amsgrad: true)
        for _ in 0..<3 { Self.randomGradients(store, &random); cpu.step(store: store) }
        let device = EmulatedKernelDevice()
        let gpu = try GPUOptimiser(cpu, parameters: try DeviceParameters(store: store, device: device))
        XCTAssertEqual(try gpu.exportState(), cpu.exportState(), "the CPU's state at construction")
        XCTAssertEqual(gpu.learningRate, 0.01)
        XCTAssertThrowsError(try gpu.importState(OptimiserState(algorithm: "sgd", step: 1, buffers: [:])))
        XCTAssertThrowsError(try gpu.importState(OptimiserState(algorithm: "adam", step: 2, buffers: ["exp_avg": [0], "exp_avg_sq": [0]])))
        XCTAssertThrowsError(try gpu.importState(OptimiserState(algorithm: "adam", step: 2, buffers: [
            "exp_avg": [0], "exp_avg_sq": [0], "max_exp_avg_sq": [0]])), "buffers of another length than the parameters")
        try gpu.importState(OptimiserState(algorithm: "adam", step: 0, buffers: [:]))
        XCTAssertEqual(try gpu.exportState(), OptimiserState(algorithm: "adam", step: 0, buffers: [:]))
    }

    // MARK: Clipping

    func checkClipping<T: Real>(_: T.Type, count: Int, scale: Double, maxNorm: Double, tolerance: Double) throws {
        let store = ParameterStore<T>()
        _ = store.add("g", shape: [count])
        var random = SplitMix(seed: 9)
        for i in 0..<count { store.gradients[i] = T((2 * random.uniform() - 1) * scale) }
        let device = EmulatedKernelDevice()
        let parameters = try DeviceParameters(store: store, device: device)
        try parameters.uploadGradients()
        let gpuNorm = try GPUGradientClipping.clipGlobalNorm(parameters, maxNorm: maxNorm)
        let cpuNorm = clipGlobalNorm(store, maxNorm: maxNorm)
        XCTAssertTrue(abs(gpuNorm - cpuNorm) <= tolerance * max(1, abs(cpuNorm)), "\(T.self) norm \(gpuNorm) vs \(cpuNorm)")
        assertClose(try device.download(parameters.gradients), Array(UnsafeBufferPointer(start: store.gradients, count: count)),
                    tolerance, "\(T.self) gradients after clipping to \(maxNorm)")
    }

    func testClippingBelowAndAboveTheThreshold() throws {
        // ~0.58·√n: n = 1000 → ~18; 300 000 elements use the capped grid (1024 blocks).
        for (count, maxNorm) in [(1000, 100.0), (1000, 5.0), (300_000, 1e6), (300_000, 2.0), (1, 0.0)] {
            try checkClipping(Double.self, count: count, scale: 1, maxNorm: maxNorm, tolerance: 1e-12)
            try checkClipping(Float.self, count: count, scale: 1, maxNorm: maxNorm, tolerance: 1e-5)
        }
    }

    func testClippingRescalesAnOverflowingSumAndLeavesNonFiniteGradients() throws {
        try checkClipping(Double.self, count: 5000, scale: 1e200, maxNorm: 1, tolerance: 1e-12)
        let store = ParameterStore<Float>()
        _ = store.add("g", shape: [600])
        for i in 0..<600 { store.gradients[i] = Float(i) }
        store.gradients[417] = .nan
        let device = EmulatedKernelDevice()
        let parameters = try DeviceParameters(store: store, device: device)
        try parameters.uploadGradients()
        XCTAssertTrue(try GPUGradientClipping.clipGlobalNorm(parameters, maxNorm: 1).isNaN)
        let after = try device.download(parameters.gradients)
        XCTAssertEqual(after[599], 599, "untouched")
        store.gradients[417] = .infinity
        try parameters.uploadGradients()
        XCTAssertEqual(try GPUGradientClipping.clipGlobalNorm(parameters, maxNorm: 1), .infinity)
        XCTAssertEqual(clipGlobalNorm(store, maxNorm: 1), .infinity)
    }

    func testClippingIsDeterministic() throws {
        let store = ParameterStore<Float>()
        _ = store.add("g", shape: [100_003])
        var random = SplitMix(seed: 4)
        for i in 0..<store.count { store.gradients[i] = Float(random.uniform() - 0.5) }
        let device = EmulatedKernelDevice()
        let parameters = try DeviceParameters(store: store, device: device)
        var norms: Set<Double> = []
        let workspace = try device.zeros(Double.self, count: GPUGradientClipping.workspaceCount(elements: store.count))
        defer { device.free(workspace) }
        for k in 0..<4 {
            try parameters.uploadGradients()
            norms.insert(try GPUGradientClipping.clipGlobalNorm(parameters, maxNorm: 1e9, workspace: k % 2 == 0 ? workspace : nil))
        }
        XCTAssertEqual(norms.count, 1, "the same norm every time, with a given workspace or not")
        XCTAssertEqual(norms.first ?? 0, clipGlobalNorm(store, maxNorm: 1e9), accuracy: 1e-12 * (norms.first ?? 0))
    }
}

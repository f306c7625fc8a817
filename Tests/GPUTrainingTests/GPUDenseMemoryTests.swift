import XCTest
import DNCGPU
import DNCGPUTraining
import DNCLayers
import DNCMemories
import DNCNumerics

/// The GPU dense memory step (memory_step.cu, memory_step_backward.cu) on the emulated device
/// against `DenseMemory.step` / `backwardStep` on the CPU: read vectors and every state field
/// after each of 4 steps, then every state gradient and dℓ/dẑ after each backward step, with and
/// without inactive samples, Double (1e-9) and Float (1e-4), for the paper's and pytorch-dnc's options.
///
/// The CPU memory is given the identity as its interface weights (and zero biases), with inputs of
/// size S: its ẑ is then exactly the input, so both start from the same raw interface vectors,
/// and its input gradient is exactly dℓ/dẑ.
final class GPUDenseMemoryTests: XCTestCase {
    /// Deterministic values in [−scale, scale).
    struct Values {
        var state: UInt64
        mutating func next<T: Real>(_: T.Type, scale: Double = 1) -> T {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return T((Double(state >> 11) / Double(1 << 53) * 2 - 1) * scale)
        }
        mutating func array<T: Real>(_: T.Type, count: Int, scale: Double = 1) -> [T] {
            (0..<count).map { _ in next(T.self, scale: scale) }
        }
    }

    static func identityMemory<T: Real>(_: T.Type, cells: Int, width: Int, readHeads: Int,
                                        options: MemoryOptions) -> DenseMemory<T> {
        let s = readHeads * width + 3 * width + 5 * readHeads + 3
        let store = ParameterStore<T>()
        let memory = DenseMemory(store: store, prefix: "m.", inputSize: s, cellCount: cells, cellWidth: width,
                                 readHeads: readHeads, options: options)
        precondition(memory.interfaceSize == s)
        for i in 0..<store.count { store.values[i] = 0 }
        let weights = store.values(store.slot(named: "m.interface_weights.weight")!)
        for i in 0..<s { weights[i * s + i] = 1 }
        return memory
    }

    static func assertClose<T: Real>(_ actual: [T], _ expected: [T], tolerance: Double, _ what: String,
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
        var worst = 0.0, at = -1
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let error = abs(Double(a) - Double(e)) / max(1, abs(Double(e)))
            if !(error <= worst) { worst = error.isNaN ? .infinity : error; at = i }
        }
        XCTAssertLessThanOrEqual(worst, tolerance,
                                 "\(what): worst relative error \(worst) at \(at): \(at >= 0 ? "\(actual[at]) vs \(expected[at])" : "")",
                                 file: file, line: line)
    }

    static func assertClose<T: Real>(_ actual: DenseMemoryState<T>, _ expected: DenseMemoryState<T>, tolerance: Double,
                                     _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        assertClose(actual.memory.storage, expected.memory.storage, tolerance: tolerance, "\(what) memory", file: file, line: line)
        assertClose(actual.linkMatrix.storage, expected.linkMatrix.storage, tolerance: tolerance, "\(what) link", file: file, line: line)
        assertClose(actual.precedence.storage, expected.precedence.storage, tolerance: tolerance, "\(what) precedence", file: file, line: line)
        assertClose(actual.readWeights.storage, expected.readWeights.storage, tolerance: tolerance, "\(what) read weights", file: file, line: line)
        assertClose(actual.writeWeights.storage, expected.writeWeights.storage, tolerance: tolerance, "\(what) write weights", file: file, line: line)
        assertClose(actual.usage.storage, expected.usage.storage, tolerance: tolerance, "\(what) usage", file: file, line: line)
    }

    static func randomState<T: Real>(_: T.Type, batch b: Int, cells n: Int, width w: Int, readHeads r: Int,
                                     values: inout Values) -> DenseMemoryState<T> {
        DenseMemoryState(memory: Tensor(shape: [b, n, w], storage: values.array(T.self, count: b * n * w)),
                         linkMatrix: Tensor(shape: [b, n, n], storage: values.array(T.self, count: b * n * n)),
                         precedence: Tensor(shape: [b, n], storage: values.array(T.self, count: b * n)),
                         readWeights: Tensor(shape: [b, r, n], storage: values.array(T.self, count: b * r * n)),
                         writeWeights: Tensor(shape: [b, n], storage: values.array(T.self, count: b * n)),
                         usage: Tensor(shape: [b, n], storage: values.array(T.self, count: b * n)))
    }

    /// A state that can be stepped, with no two cells alike: memory in ±1, link, precedence,
    /// write and read weights in [0, 1/N), usage in [0, 1).
    static func startState<T: Real>(_: T.Type, batch b: Int, cells n: Int, width w: Int, readHeads r: Int,
                                    values: inout Values) -> DenseMemoryState<T> {
        func weights(_ count: Int) -> [T] { values.array(T.self, count: count).map { abs($0) / T(n) } }
        return DenseMemoryState(memory: Tensor(shape: [b, n, w], storage: values.array(T.self, count: b * n * w)),
                                linkMatrix: Tensor(shape: [b, n, n], storage: weights(b * n * n)),
                                precedence: Tensor(shape: [b, n], storage: weights(b * n)),
                                readWeights: Tensor(shape: [b, r, n], storage: weights(b * r * n)),
                                writeWeights: Tensor(shape: [b, n], storage: weights(b * n)),
                                usage: Tensor(shape: [b, n], storage: values.array(T.self, count: b * n).map { abs($0) }))
    }

    /// Runs `steps` steps forward and back on both sides and compares everything.
    ///
    /// From the empty memory (`zeroStart`) many cells are alike: their usages are equal up to
    /// rounding, and the allocation's sort then orders them by the last bit, which the GPU's
    /// different summation order may flip (an equally valid free list, far from the CPU's in
    /// value). So the comparisons start from a state with no two cells alike, except one run
    /// from the empty memory whose near-ties happen to fall alike.
    func compare<T: Real>(_: T.Type, tolerance: Double, options: MemoryOptions = .paper, active: [[Bool]]? = nil,
                          zeroStart: Bool = false, padding: Int = 0,
                          batch: Int = 3, cells: Int = 16, width: Int = 5, readHeads: Int = 2, steps: Int = 4,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let cpu = Self.identityMemory(T.self, cells: cells, width: width, readHeads: readHeads, options: options)
        let s = cpu.interfaceSize, rw = readHeads * width
        let device = EmulatedKernelDevice()
        let gpu = try GPUDenseMemory(cpu, device: device)
        XCTAssertEqual(gpu.interfaceSize, s)
        var values = Values(state: 12345)
        let inputs = (0..<steps).map { _ in values.array(T.self, count: batch * s, scale: 2) }

        // Forward.
        let tape = DenseMemoryTape<T>()
        var cpuState = zeroStart ? cpu.zeroState(batch: batch)
            : Self.startState(T.self, batch: batch, cells: cells, width: width, readHeads: readHeads, values: &values)
        try gpu.beginSequence(batch: batch, steps: steps, recording: true)
        let gpuState = try gpu.makeState(batch: batch)
        if !zeroStart { try gpu.upload(cpuState, into: gpuState) }
        // Rows `padding` elements wider than ẑ and the read vectors; the padding must stay untouched.
        let ps = s + padding, prw = rw + padding, marker = T(7)
        func padded(_ rows: [T], width: Int) -> [T] {
            (0..<batch).flatMap { Array(rows[($0 * width)..<($0 * width + width)]) + [T](repeating: marker, count: padding) }
        }
        func unpadded(_ rows: [T], width: Int, what: String) -> [T] {
            for b in 0..<batch { XCTAssertEqual(Array(rows[(b * (width + padding) + width)..<((b + 1) * (width + padding))]),
                                                [T](repeating: marker, count: padding), "\(what) padding", file: file, line: line) }
            return (0..<batch).flatMap { Array(rows[($0 * (width + padding))..<($0 * (width + padding) + width)]) }
        }
        let interface = try device.zeros(T.self, count: batch * ps)
        let readVectors = try device.array([T](repeating: marker, count: batch * prw))
        let flags = try device.zeros(Int32.self, count: batch)
        for t in 0..<steps {
            var cpuRead = [T](repeating: 0, count: batch * rw)
            inputs[t].withUnsafeBufferPointer { x in
                cpuRead.withUnsafeMutableBufferPointer { out in
                    cpu.step(input: x.baseAddress!, batch: batch, state: &cpuState, tape: tape, active: active?[t],
                             readVectors: out.baseAddress!)
                }
            }
            try device.upload(padded(inputs[t], width: s), to: interface)
            if let a = active?[t] { try device.upload(a.map { $0 ? 1 : 0 }, to: flags) }
            let launches = device.launches
            try gpu.step(interface: interface.pointer, batch: batch, state: gpuState, stepIndex: t,
                         active: active == nil ? nil : flags, readVectors: readVectors.pointer,
                         interfaceStride: padding > 0 ? ps : nil, readVectorsStride: padding > 0 ? prw : nil)
            XCTAssertEqual(device.launches - launches, 1, "one launch per step", file: file, line: line)
            Self.assertClose(unpadded(try device.download(readVectors), width: rw, what: "read vectors"), cpuRead, tolerance: tolerance, "step \(t) read vectors",
                             file: file, line: line)
            Self.assertClose(try gpu.download(gpuState), cpuState, tolerance: tolerance, "step \(t) state", file: file, line: line)
        }

        // Backward from a random gradient of the final state and of every step's read vectors.
        var cpuGradient = Self.randomState(T.self, batch: batch, cells: cells, width: width, readHeads: readHeads,
                                           values: &values)
        let gpuGradient = try gpu.makeState(batch: batch)
        try gpu.upload(cpuGradient, into: gpuGradient)
        let readGradient = try device.zeros(T.self, count: batch * prw)
        let interfaceGradient = try device.array([T](repeating: marker, count: batch * ps))
        for t in stride(from: steps - 1, through: 0, by: -1) {
            let dR = values.array(T.self, count: batch * rw)
            var cpuInputGradient = [T](repeating: 0, count: batch * s)
            dR.withUnsafeBufferPointer { g in
                cpuInputGradient.withUnsafeMutableBufferPointer { dx in
                    cpu.backwardStep(tape: tape, stepIndex: t, readVectorsGradient: g.baseAddress!,
                                     stateGradient: &cpuGradient, inputGradient: dx.baseAddress!)
                }
            }
            try device.upload(padded(dR, width: rw), to: readGradient)
            let launches = device.launches
            try gpu.backwardStep(stepIndex: t, readVectorsGradient: readGradient.pointer, stateGradient: gpuGradient,
                                 interfaceGradient: interfaceGradient.pointer,
                                 readVectorsGradientStride: padding > 0 ? prw : nil,
                                 interfaceGradientStride: padding > 0 ? ps : nil)
            XCTAssertEqual(device.launches - launches, 1, "one launch per backward step", file: file, line: line)
            Self.assertClose(unpadded(try device.download(interfaceGradient), width: s, what: "dℓ/dẑ"), cpuInputGradient, tolerance: tolerance,
                             "backward step \(t) dℓ/dẑ", file: file, line: line)
            Self.assertClose(try gpu.download(gpuGradient), cpuGradient, tolerance: tolerance,
                             "backward step \(t) state gradient", file: file, line: line)
        }
        for array in [interface, readVectors, readGradient, interfaceGradient] { device.free(array) }
        device.free(flags)
    }

    func testStepMatchesCPUInDouble() throws { try compare(Double.self, tolerance: 1e-9) }
    func testStepFromTheEmptyMemoryMatchesCPU() throws {
        try compare(Double.self, tolerance: 1e-9, zeroStart: true)
        try compare(Float.self, tolerance: 1e-4, zeroStart: true)
    }
    func testStepMatchesCPUInFloat() throws { try compare(Float.self, tolerance: 1e-4) }
    func testRowsOfWiderMatrices() throws {
        try compare(Double.self, tolerance: 1e-9, padding: 3)
        try compare(Float.self, tolerance: 1e-4, active: [[true, false, true], [false, true, true]], padding: 2, steps: 2)
    }
    func testPytorchOptionsMatchCPU() throws {
        try compare(Double.self, tolerance: 1e-9, options: .pytorchCompat)
        try compare(Float.self, tolerance: 1e-4, options: .pytorchCompat)
    }
    func testInactiveSamplesMatchCPU() throws {
        let active = [[true, true, true], [true, false, true], [false, true, true], [true, true, false]]
        try compare(Double.self, tolerance: 1e-9, active: active)
        try compare(Float.self, tolerance: 1e-4, active: active)
    }
    func testWideMemoryWithMoreCellsThanThreads() throws {
        // N = 40 cells over 64 threads, W = 3, R = 3, B = 2; and N larger than the block (300 > 256).
        try compare(Double.self, tolerance: 1e-9, batch: 2, cells: 40, width: 3, readHeads: 3, steps: 3)
        try compare(Double.self, tolerance: 1e-9, batch: 1, cells: 300, width: 2, readHeads: 1, steps: 2)
    }

    /// Without recording, every step reuses one record: the same read vectors and states as the CPU's inference.
    func testStepsWithoutRecordingMatchCPUInference() throws {
        let batch = 2, cells = 8, width = 4, readHeads = 2, steps = 5
        let cpu = Self.identityMemory(Double.self, cells: cells, width: width, readHeads: readHeads, options: .paper)
        let s = cpu.interfaceSize, rw = readHeads * width
        let device = EmulatedKernelDevice()
        let gpu = try GPUDenseMemory(cpu, device: device)
        var values = Values(state: 99)
        var cpuState = Self.startState(Double.self, batch: batch, cells: cells, width: width, readHeads: readHeads,
                                       values: &values)
        try gpu.beginSequence(batch: batch, steps: steps, recording: false)
        let gpuState = try gpu.makeState(batch: batch)
        try gpu.upload(cpuState, into: gpuState)
        let interface = try device.zeros(Double.self, count: batch * s)
        let readVectors = try device.zeros(Double.self, count: batch * rw)
        for t in 0..<steps {
            let input = values.array(Double.self, count: batch * s, scale: 2)
            var cpuRead = [Double](repeating: 0, count: batch * rw)
            input.withUnsafeBufferPointer { x in
                cpuRead.withUnsafeMutableBufferPointer { out in
                    cpu.step(input: x.baseAddress!, batch: batch, state: &cpuState, tape: nil, readVectors: out.baseAddress!)
                }
            }
            try device.upload(input, to: interface)
            try gpu.step(interface: interface.pointer, batch: batch, state: gpuState, stepIndex: t,
                         readVectors: readVectors.pointer)
            Self.assertClose(try device.download(readVectors), cpuRead, tolerance: 1e-9, "step \(t) read vectors")
            Self.assertClose(try gpu.download(gpuState), cpuState, tolerance: 1e-9, "step \(t) state")
        }
    }

    func testUnsupportedOptionsAreNamed() throws {
        var options = MemoryOptions.paper
        options.improvements.linkSharpness = true
        let memory = DenseMemory<Double>(store: ParameterStore(), prefix: "m.", inputSize: 4, cellCount: 4, cellWidth: 2,
                                         readHeads: 1, options: options)
        XCTAssertNotNil(GPUDenseMemory.unsupportedReason(memory))
        XCTAssertThrowsError(try GPUDenseMemory(memory, device: EmulatedKernelDevice()))
        XCTAssertNil(GPUDenseMemory.unsupportedReason(Self.identityMemory(Double.self, cells: 4, width: 2, readHeads: 1,
                                                                          options: .paper)))
        let manyHeads = DenseMemory<Double>(store: ParameterStore(), prefix: "m.", inputSize: 4, cellCount: 4, cellWidth: 2,
                                            readHeads: 64)
        XCTAssertNotNil(GPUDenseMemory.unsupportedReason(manyHeads))
    }

    func testStateRoundTrips() throws {
        let memory = Self.identityMemory(Double.self, cells: 6, width: 3, readHeads: 2, options: .paper)
        let gpu = try GPUDenseMemory(memory, device: EmulatedKernelDevice())
        var values = Values(state: 7)
        let state = Self.randomState(Double.self, batch: 2, cells: 6, width: 3, readHeads: 2, values: &values)
        let device = try gpu.makeState(batch: 2)
        XCTAssertEqual(try gpu.download(device), memory.zeroState(batch: 2))
        try gpu.upload(state, into: device)
        XCTAssertEqual(try gpu.download(device), state)
    }
}

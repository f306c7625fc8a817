import XCTest
import DNCGPU
import DNCGPUTraining
import DNCLayers
import DNCNumerics

/// Helpers of the controller tests (GPUProductsTests, GPURecurrentStackTests): random values,
/// device round trips, and the comparison to 1e-9 (Double) / 1e-4 (Float) relative to max(1, |x|).
enum ControllerCheck {
    /// GPU 0 as a device, or a skip on machines without one (the same checks then compare the
    /// real kernels with the CPU).
    static func cudaDevice() throws -> any KernelDevice {
        do { return try CUDAKernelDevice(ordinal: 0) } catch { throw XCTSkip("no GPU: \(error.reason)") }
    }

    static func tolerance<T: Real>(_: T.Type) -> Double { T.self == Double.self ? 1e-9 : 1e-4 }

    static func random<T: Real>(_ count: Int, seed: UInt64, stream: UInt64 = 0, as: T.Type = T.self) -> [T] {
        let random = CounterRandom(seed: seed)
        return (0..<count).map { random.uniform(T.self, stream: stream, index: UInt64($0), low: -1, high: 1) }
    }

    static func assertClose<T: Real>(_ actual: [T], _ expected: [T], _ what: String,
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
        let tolerance = Self.tolerance(T.self)
        var worst = 0.0, worstIndex = -1
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let error = Swift.abs(Double(a) - Double(e)) / Swift.max(1, Swift.abs(Double(e)))
            if !(error <= worst) { worst = error.isNaN ? .infinity : error; worstIndex = i }
        }
        XCTAssert(worst <= tolerance, "\(what): element \(worstIndex) is \(worstIndex >= 0 ? "\(actual[worstIndex])" : "-"), "
                  + "expected \(worstIndex >= 0 ? "\(expected[worstIndex])" : "-") (relative error \(worst) > \(tolerance))",
                  file: file, line: line)
    }
}

/// GPUProducts and GPULinear on the emulated device against Kernels.gemm and Linear on the CPU.
final class GPUProductsTests: XCTestCase {
    /// One batched product with the given shapes, strides and beta against Kernels.gemm per batch entry.
    func checkGemm<T: Real>(_: T.Type, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, padA: Int = 0, padB: Int = 0,
                            padC: Int = 0, batch: Int = 1, alpha: T = 1, beta: T, seed: UInt64,
                            device: any KernelDevice = EmulatedKernelDevice()) throws {
        let rowsA = transA ? k : m, columnsA = transA ? m : k
        let rowsB = transB ? n : k, columnsB = transB ? k : n
        let lda = columnsA + padA, ldb = columnsB + padB, ldc = n + padC
        let strideA = rowsA * lda + 3, strideB = rowsB * ldb + 1, strideC = m * ldc + 2
        let a: [T] = ControllerCheck.random(strideA * batch, seed: seed, stream: 1)
        let b: [T] = ControllerCheck.random(strideB * batch, seed: seed, stream: 2)
        var c: [T] = ControllerCheck.random(strideC * batch, seed: seed, stream: 3)
        // beta 0: C holds NaN, which must not reach the result (only the padding keeps it).
        if beta == 0 { c = [T](repeating: .nan, count: c.count) }
        let da = try device.array(a), db = try device.array(b), dc = try device.array(c)
        defer { device.free(da); device.free(db); device.free(dc) }
        try GPUProducts.gemm(device, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: da.pointer, lda: lda,
                             b: db.pointer, ldb: ldb, beta: beta, c: dc.pointer, ldc: ldc, batch: batch,
                             strideA: strideA, strideB: strideB, strideC: strideC)
        let gpu = try device.download(dc)
        var cpu = c
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                cpu.withUnsafeMutableBufferPointer { pc in
                    for y in 0..<batch {
                        if beta == 0 { for r in 0..<m { for j in 0..<n { pc[y * strideC + r * ldc + j] = 0 } } }
                        Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                     a: pa.baseAddress! + y * strideA, lda: lda, b: pb.baseAddress! + y * strideB, ldb: ldb,
                                     beta: beta == 0 ? 1 : beta, c: pc.baseAddress! + y * strideC, ldc: ldc)
                    }
                }
            }
        }
        // Compare the products' elements; the padding must be untouched.
        var gpuOut: [T] = [], cpuOut: [T] = []
        for y in 0..<batch { for r in 0..<m { for j in 0..<n { gpuOut.append(gpu[y * strideC + r * ldc + j]); cpuOut.append(cpu[y * strideC + r * ldc + j]) } } }
        let what = "\(T.self) gemm transA \(transA) transB \(transB) \(m)×\(n)×\(k) batch \(batch) beta \(beta)"
        ControllerCheck.assertClose(gpuOut, cpuOut, what)
        for y in 0..<batch {
            for r in 0..<m { for j in n..<ldc { XCTAssertEqual(gpu[y * strideC + r * ldc + j].isNaN, c[y * strideC + r * ldc + j].isNaN, "\(what): padding") } }
        }
    }

    func checkAllGemmShapes<T: Real>(_: T.Type, device: any KernelDevice = EmulatedKernelDevice()) throws {
        for transA in [false, true] {
            for transB in [false, true] {
                // Odd sizes: partial tiles in every direction, k not a multiple of the tile depth.
                try checkGemm(T.self, transA: transA, transB: transB, m: 17, n: 33, k: 5, beta: 0, seed: 1, device: device)
                try checkGemm(T.self, transA: transA, transB: transB, m: 70, n: 129, k: 37, beta: 1, seed: 2, device: device)
                // Row strides wider than the rows, batched, alpha and beta other than 0/1.
                try checkGemm(T.self, transA: transA, transB: transB, m: 9, n: 66, k: 20, padA: 3, padB: 5, padC: 2,
                              batch: 3, alpha: 0.5, beta: -1.5, seed: 3, device: device)
                try checkGemm(T.self, transA: transA, transB: transB, m: 65, n: 7, k: 33, padA: 1, padB: 2, padC: 4,
                              batch: 2, beta: 0, seed: 4, device: device)
                // k = 0: C = beta·C.
                try checkGemm(T.self, transA: transA, transB: transB, m: 3, n: 4, k: 0, beta: 0, seed: 5, device: device)
            }
        }
    }

    func testGemmDouble() throws { try checkAllGemmShapes(Double.self) }
    func testGemmFloat() throws { try checkAllGemmShapes(Float.self) }

    func testGemmOnTheGPU() throws {
        let device = try ControllerCheck.cudaDevice()
        try checkAllGemmShapes(Double.self, device: device)
        try checkAllGemmShapes(Float.self, device: device)
        try checkSumOfProducts(Double.self, device: device)
        try checkSumOfProducts(Float.self, device: device)
        try checkRowVectorAndColumnSums(Double.self, device: device)
        try checkRowVectorAndColumnSums(Float.self, device: device)
        try checkLinear(Double.self, bias: true, device: device)
        try checkLinear(Float.self, bias: true, device: device)
    }

    /// C = op(A)·op(B) + op(A2)·op(B2) + bias in one launch against two Kernels.gemm calls.
    func checkSumOfProducts<T: Real>(_: T.Type, device: any KernelDevice = EmulatedKernelDevice()) throws {
        for (transA, transB) in [(false, true), (false, false), (true, false), (true, true)] {
            for (m, n, k, k2) in [(3, 70, 9, 23), (17, 33, 16, 16), (40, 5, 0, 7), (2, 8, 5, 0)] {
                let a: [T] = ControllerCheck.random(m * k, seed: 21), b: [T] = ControllerCheck.random(k * n, seed: 22)
                let a2: [T] = ControllerCheck.random(m * k2, seed: 23), b2: [T] = ControllerCheck.random(k2 * n, seed: 24)
                let bias: [T] = ControllerCheck.random(n, seed: 25)
                let arrays = try [a, b, a2, b2, bias, [T](repeating: .nan, count: m * n)].map { try device.array($0) }
                defer { for array in arrays { device.free(array) } }
                try GPUProducts.sumOfProducts(device, transA: transA, transB: transB, m: m, n: n, k: k, a: arrays[0].pointer,
                                              b: arrays[1].pointer, k2: k2, a2: arrays[2].pointer, b2: arrays[3].pointer,
                                              alpha: T(1), beta: T(0), c: arrays[5].pointer, bias: arrays[4].pointer)
                var expected = [T](repeating: 0, count: m * n)
                for r in 0..<m { for j in 0..<n { expected[r * n + j] = bias[j] } }
                expected.withUnsafeMutableBufferPointer { c in
                    Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, beta: 1, c: c.baseAddress!)
                    Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k2, a: a2, b: b2, beta: 1, c: c.baseAddress!)
                }
                ControllerCheck.assertClose(try device.download(arrays[5]), expected,
                                            "\(T.self) sum of products transA \(transA) transB \(transB) \(m)×\(n)×(\(k) + \(k2))")
            }
        }
    }

    func testSumOfProductsDouble() throws { try checkSumOfProducts(Double.self) }
    func testSumOfProductsFloat() throws { try checkSumOfProducts(Float.self) }

    func checkRowVectorAndColumnSums<T: Real>(_: T.Type, device: any KernelDevice = EmulatedKernelDevice()) throws {
        for (rows, columns, ld) in [(1, 1, 1), (5, 70, 73), (37, 33, 33), (300, 3, 5)] {
            let matrix: [T] = ControllerCheck.random(rows * ld, seed: 7)
            let vector: [T] = ControllerCheck.random(columns, seed: 8)
            let dm = try device.array(matrix), dv = try device.array(vector)
            defer { device.free(dm); device.free(dv) }
            try GPUProducts.accumulateColumnSums(device, dm.pointer, rows: rows, columns: columns, ld: ld, into: dv.pointer, as: T.self)
            var sums = vector
            for r in 0..<rows { for j in 0..<columns { sums[j] += matrix[r * ld + j] } }
            ControllerCheck.assertClose(try device.download(dv), sums, "\(T.self) column sums \(rows)×\(columns)")
            try GPUProducts.addRowVector(device, dv.pointer, to: dm.pointer, rows: rows, columns: columns, ld: ld, as: T.self)
            var added = matrix
            for r in 0..<rows { for j in 0..<columns { added[r * ld + j] += sums[j] } }
            ControllerCheck.assertClose(try device.download(dm), added, "\(T.self) add row vector \(rows)×\(columns)")
        }
    }

    func testRowVectorAndColumnSumsDouble() throws { try checkRowVectorAndColumnSums(Double.self) }
    func testRowVectorAndColumnSumsFloat() throws { try checkRowVectorAndColumnSums(Float.self) }

    func checkLinear<T: Real>(_: T.Type, bias: Bool, device: any KernelDevice = EmulatedKernelDevice()) throws {
        let store = ParameterStore<T>()
        _ = store.add("before", shape: [3])  // the layer's slots do not start at offset 0
        let linear = Linear(store: store, name: "out", inputSize: 19, outputSize: 37, bias: bias)
        linear.initializeDefault(store: store, random: CounterRandom(seed: 11), stream: 4)
        let initialGradients: [T] = ControllerCheck.random(store.count, seed: 12)
        initialGradients.withUnsafeBufferPointer { store.gradients.update(from: $0.baseAddress!, count: store.count) }
        let parameters = try DeviceParameters(store: store, device: device)
        try parameters.uploadGradients()
        let gpuLinear = GPULinear(linear, parameters: parameters)
        let rows = 21, ldInput = 23, ldOutput = 40
        let input: [T] = ControllerCheck.random(rows * ldInput, seed: 13)
        let dy: [T] = ControllerCheck.random(rows * ldOutput, seed: 14)
        let previousDX: [T] = ControllerCheck.random(rows * 19, seed: 15)
        let dInput = try device.array(input), dOutput = try device.array([T](repeating: .nan, count: rows * ldOutput))
        let dDY = try device.array(dy), dDX = try device.array(previousDX)
        defer { for array in [dInput, dOutput, dDY, dDX] { device.free(array) } }

        try gpuLinear.forward(input: dInput.pointer, rows: rows, output: dOutput.pointer, ldInput: ldInput, ldOutput: ldOutput)
        try gpuLinear.backward(input: dInput.pointer, outputGradient: dDY.pointer, rows: rows, inputGradient: dDX.pointer,
                               accumulateInput: true, ldInput: ldInput, ldOutputGradient: ldOutput)

        // The CPU on packed copies.
        let packedInput = (0..<rows).flatMap { r in input[(r * ldInput)..<(r * ldInput + 19)] }
        let packedDY = (0..<rows).flatMap { r in dy[(r * ldOutput)..<(r * ldOutput + 37)] }
        var output = [T](repeating: 0, count: rows * 37), dx = previousDX
        packedInput.withUnsafeBufferPointer { x in
            packedDY.withUnsafeBufferPointer { g in
                output.withUnsafeMutableBufferPointer { y in
                    linear.forward(store: store, input: x.baseAddress!, rows: rows, output: y.baseAddress!)
                }
                dx.withUnsafeMutableBufferPointer { d in
                    linear.backward(store: store, input: x.baseAddress!, outputGradient: g.baseAddress!, rows: rows,
                                    inputGradient: d.baseAddress!, accumulateInput: true)
                }
            }
        }
        let gpuOutput = try device.download(dOutput)
        ControllerCheck.assertClose((0..<rows).flatMap { r in gpuOutput[(r * ldOutput)..<(r * ldOutput + 37)] }, output,
                                    "\(T.self) linear forward (bias \(bias))")
        ControllerCheck.assertClose(try device.download(dDX), dx, "\(T.self) linear input gradient (bias \(bias))")
        ControllerCheck.assertClose(try device.download(parameters.gradients), store.flatGradients,
                                    "\(T.self) linear parameter gradients (bias \(bias))")
    }

    func testLinearDouble() throws {
        try checkLinear(Double.self, bias: true)
        try checkLinear(Double.self, bias: false)
    }

    func testLinearFloat() throws {
        try checkLinear(Float.self, bias: true)
        try checkLinear(Float.self, bias: false)
    }
}

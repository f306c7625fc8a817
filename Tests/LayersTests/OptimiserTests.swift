import DNCLayers
import DNCNumerics
import XCTest

/// Expected trajectories: the parameters after each of three steps from a float64 numpy
/// re-implementation of torch.optim's single-tensor algorithms (torch itself was not
/// installable), written from the documented update rules, run from `start` on `gradients`
/// with the hyper-parameters of each case and printed with repr (script not kept in the repo).
final class OptimiserTests: XCTestCase {
    static let start: [Double] = [0.5, -1, 2]
    static let gradients: [[Double]] = [[0.1, -0.2, 0.3], [-0.5, 0.4, 0.05], [0.2, 0.2, -0.1]]
    /// Large then small gradients, so that with β₂ = 0.5 v falls and AMSGrad's maximum matters.
    static let shrinkingGradients: [[Double]] = [[1, -2, 0.5], [0.01, 0.02, -0.01], [0.005, -0.01, 0.02]]

    // MARK: Helpers

    func makeStore<T: Real>(_ values: [Double], _: T.Type = T.self) -> ParameterStore<T> {
        let store = ParameterStore<T>()
        let slot = store.add("w", shape: [values.count])
        store.set(slot, to: Tensor(shape: [values.count], storage: values.map { T($0) }))
        return store
    }

    func step<T: Real>(_ optimiser: any Optimiser<T>, _ store: ParameterStore<T>, gradient: [Double]) {
        for (i, g) in gradient.enumerated() { store.gradients[i] = T(g) }
        optimiser.step(store: store)
    }

    /// Three steps in Double against the reference (to 1e-13 relative), and in Float (to 2e-6).
    func check(_ label: String, gradients: [[Double]] = gradients, expected: [[Double]],
               file: StaticString = #filePath, line: UInt = #line,
               _ make: () throws -> (any Optimiser<Double>, any Optimiser<Float>)) throws {
        let (double, float) = try make()
        let doubleStore = makeStore(Self.start, Double.self), floatStore = makeStore(Self.start, Float.self)
        for (k, (gradient, want)) in zip(gradients, expected).enumerated() {
            step(double, doubleStore, gradient: gradient)
            step(float, floatStore, gradient: gradient)
            for i in want.indices {
                XCTAssertEqual(doubleStore.values[i], want[i], accuracy: 1e-13 * abs(want[i]),
                               "\(label) step \(k + 1) element \(i)", file: file, line: line)
                XCTAssertEqual(Double(floatStore.values[i]), want[i], accuracy: 2e-6 * abs(want[i]),
                               "\(label) Float step \(k + 1) element \(i)", file: file, line: line)
            }
        }
    }

    /// Builds the same configuration in both precisions.
    func both<O1: Optimiser, O2: Optimiser>(_ double: () throws -> O1, _ float: () throws -> O2) throws
        -> (any Optimiser<Double>, any Optimiser<Float>) where O1.Scalar == Double, O2.Scalar == Float {
        (try double(), try float())
    }

    // MARK: Update rules

    func testSGD() throws {
        try check("sgd", expected: [[0.49, -0.98, 1.97], [0.54, -1.02, 1.965], [0.52, -1.04, 1.975]]) {
            try both({ try SGD<Double>(learningRate: 0.1) }, { try SGD<Float>(learningRate: 0.1) })
        }
        try check("sgd momentum", expected: [
            [0.4895, -0.979, 1.968],
            [0.52460945, -0.9952189, 1.9329288],
            [0.5377358064950001, -1.02692021299, 1.90862508408]]) {
            try both({ try SGD<Double>(learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) },
                     { try SGD<Float>(learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) })
        }
        try check("sgd nesterov", expected: [
            [0.48005, -0.9601, 1.9392],
            [0.565632905, -1.01726581, 1.90009552],
            [0.5590148619805, -1.0696463239610001, 1.886536586512]]) {
            try both({ try SGD<Double>(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) },
                     { try SGD<Float>(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) })
        }
    }

    func testAdam() throws {
        try check("adam", expected: [
            [0.4900000009999999, -0.9900000005, 1.9900000003333334],
            [0.4959835426552334, -0.9936610356546037, 1.9821667272150607],
            [0.49795549188742794, -0.9988534436331663, 1.9784121864182729]]) {
            try both({ try Adam<Double>(learningRate: 0.01) }, { try Adam<Float>(learningRate: 0.01) })
        }
        try check("adam seed settings, weight decay", expected: [
            [0.49000000006666666, -0.9900000000333333, 1.99000000002],
            [0.49492878641078447, -0.9905429448792833, 1.980657001635283],
            [0.49534384557640054, -0.9924362970916885, 1.9723994370156797]]) {
            try both({ try Adam<Double>(learningRate: 0.01, betas: (0.9, 0.98), eps: 1e-9, weightDecay: 0.1) },
                     { try Adam<Float>(learningRate: 0.01, betas: (0.9, 0.98), eps: 1e-9, weightDecay: 0.1) })
        }
        try check("adam amsgrad", gradients: Self.shrinkingGradients, expected: [
            [0.4900000001, -0.99000000005, 1.9900000002],
            [0.4841341168404403, -0.9842630372665078, 1.9843274977767127],
            [0.48011179386723507, -0.9803285805458195, 1.9802661231778829]]) {
            try both({ try Adam<Double>(learningRate: 0.01, betas: (0.9, 0.5), amsgrad: true) },
                     { try Adam<Float>(learningRate: 0.01, betas: (0.9, 0.5), amsgrad: true) })
        }
        try check("adam same gradients without amsgrad", gradients: Self.shrinkingGradients, expected: [
            [0.4900000001, -0.99000000005, 1.9900000002],
            [0.48170521791785154, -0.9818875207027046, 1.981981077349558],
            [0.4736617785032669, -0.9740197873848593, 1.9738874132968773]]) {
            try both({ try Adam<Double>(learningRate: 0.01, betas: (0.9, 0.5)) }, { try Adam<Float>(learningRate: 0.01, betas: (0.9, 0.5)) })
        }
    }

    func testAdamax() throws {
        try check("adamax", expected: [
            [0.49000000008, -0.99000000004, 1.990000000025],
            [0.4940179313350296, -0.9918845258999093, 1.9831592374212472],
            [0.4948256320467864, -0.9947136985690496, 1.9787627378776231]]) {
            try both({ try Adamax<Double>(learningRate: 0.01, betas: (0.9, 0.98), eps: 1e-9, weightDecay: 0.05) },
                     { try Adamax<Float>(learningRate: 0.01, betas: (0.9, 0.98), eps: 1e-9, weightDecay: 0.05) })
        }
    }

    func testRMSprop() throws {
        try check("rmsprop", expected: [
            [0.40000009999990005, -0.9000000499999751, 1.9000000333333222],
            [0.4980770110928694, -0.9895323261670684, 1.8834795737804584],
            [0.4613968080518667, -1.0305624693726212, 1.9149947422194693]]) {
            try both({ try RMSprop<Double>(learningRate: 0.01) }, { try RMSprop<Float>(learningRate: 0.01) })
        }
        try check("rmsprop seed settings (momentum)", expected: [
            [0.400000001, -0.9000000005000001, 1.9000000003333333],
            [0.40807693203875245, -0.8995322969567683, 1.7934795356765412],
            [0.37866596027271116, -0.9401415153066038, 1.7291262957571802]]) {
            try both({ try RMSprop<Double>(learningRate: 0.01, eps: 1e-10, momentum: 0.9) },
                     { try RMSprop<Float>(learningRate: 0.01, eps: 1e-10, momentum: 0.9) })
        }
        try check("rmsprop centred, momentum, weight decay", expected: [
            [0.46666666674074075, -0.9666666667037037, 1.9666666666888888],
            [0.46753872466724394, -0.9597353412085899, 1.9206544136515435],
            [0.45313446592300577, -0.9616021039584923, 1.8729503708575104]]) {
            try both({ try RMSprop<Double>(learningRate: 0.01, alpha: 0.9, eps: 1e-10, weightDecay: 0.1, momentum: 0.9, centered: true) },
                     { try RMSprop<Float>(learningRate: 0.01, alpha: 0.9, eps: 1e-10, weightDecay: 0.1, momentum: 0.9, centered: true) })
        }
    }

    func testAdagrad() throws {
        try check("adagrad", expected: [
            [0.45714285715510206, -0.9311752798546209, 1.915484574541434],
            [0.5099535728861225, -0.9695536454355889, 1.8902846617038866],
            [0.48990597382572904, -0.9790429699554621, 1.8833852757681728]]) {
            try both({ try Adagrad<Double>(learningRate: 0.1, learningRateDecay: 0.5, weightDecay: 0.1, initialAccumulatorValue: 0.1) },
                     { try Adagrad<Float>(learningRate: 0.1, learningRateDecay: 0.5, weightDecay: 0.1, initialAccumulatorValue: 0.1) })
        }
    }

    func testAdadelta() throws {
        try check("adadelta", expected: [
            [0.4968384248340445, -0.9968378980072851, 1.9968377855834876],
            [0.501102142035389, -1.0000837599977246, 1.994754763476742],
            [0.49813022820694053, -1.001425296808541, 1.993827355481067]]) {
            try both({ try Adadelta<Double>(learningRate: 1, rho: 0.9, weightDecay: 0.1) },
                     { try Adadelta<Float>(learningRate: 1, rho: 0.9, weightDecay: 0.1) })
        }
    }

    // MARK: State

    static func everyConfiguration() throws -> [(String, [String], () throws -> any Optimiser<Float>)] {
        [
            ("sgd", [], { try SGD<Float>(learningRate: 0.1) }),
            ("sgd nesterov", ["momentum_buffer"], { try SGD<Float>(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) }),
            ("adam", ["exp_avg", "exp_avg_sq"], { try Adam<Float>(learningRate: 0.01, weightDecay: 0.1) }),
            ("adam amsgrad", ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], { try Adam<Float>(learningRate: 0.01, betas: (0.9, 0.5), amsgrad: true) }),
            ("adamax", ["exp_avg", "exp_inf"], { try Adamax<Float>(learningRate: 0.01) }),
            ("rmsprop centred", ["grad_avg", "momentum_buffer", "square_avg"],
             { try RMSprop<Float>(learningRate: 0.01, alpha: 0.9, weightDecay: 0.1, momentum: 0.9, centered: true) }),
            ("rmsprop", ["square_avg"], { try RMSprop<Float>(learningRate: 0.01) }),
            ("adagrad", ["sum"], { try Adagrad<Float>(learningRate: 0.1, learningRateDecay: 0.5, initialAccumulatorValue: 0.1) }),
            ("adadelta", ["acc_delta", "square_avg"], { try Adadelta<Float>(weightDecay: 0.1) }),
        ]
    }

    func testStateRoundTripContinuesBitIdentically() throws {
        let gradients = Self.gradients + Self.shrinkingGradients
        for (label, names, make) in try Self.everyConfiguration() {
            let straight = try make(), straightStore = makeStore(Self.start, Float.self)
            XCTAssertEqual(straight.exportState(), OptimiserState(algorithm: straight.name, step: 0, buffers: [:]), label)
            for g in gradients { step(straight, straightStore, gradient: g) }

            let first = try make(), firstStore = makeStore(Self.start, Float.self)
            for g in gradients.prefix(3) { step(first, firstStore, gradient: g) }
            let saved = first.exportState()
            XCTAssertEqual(saved.step, 3, label)
            XCTAssertEqual(saved.buffers.keys.sorted(), names, label)
            XCTAssertTrue(saved.buffers.values.allSatisfy { $0.count == 3 }, label)

            let resumed = try make(), resumedStore = makeStore(firstStore.flatValues.map(Double.init), Float.self)
            try resumed.importState(saved)
            XCTAssertEqual(resumed.exportState(), saved, label)
            for g in gradients.dropFirst(3) { step(resumed, resumedStore, gradient: g) }
            XCTAssertEqual(resumedStore.flatValues.map(\.bitPattern), straightStore.flatValues.map(\.bitPattern), label)
            XCTAssertEqual(resumed.exportState(), straight.exportState(), label)
        }
    }

    func testImportRejectsIncompatibleState() throws {
        let adam = try Adam<Double>()
        XCTAssertThrowsError(try adam.importState(OptimiserState(algorithm: "rmsprop", step: 1, buffers: ["square_avg": [1]])))
        XCTAssertThrowsError(try adam.importState(OptimiserState(algorithm: "adam", step: 1, buffers: ["exp_avg": [1]])))
        XCTAssertThrowsError(try adam.importState(OptimiserState(algorithm: "adam", step: 1, buffers: ["exp_avg": [1], "exp_avg_sq": [1, 2]])))
        XCTAssertThrowsError(try adam.importState(OptimiserState(algorithm: "adam", step: -1, buffers: [:])))
        XCTAssertThrowsError(try Adam<Double>(amsgrad: true).importState(OptimiserState(algorithm: "adam", step: 2,
                                                                                         buffers: ["exp_avg": [1], "exp_avg_sq": [1]])))
        XCTAssertNoThrow(try adam.importState(OptimiserState(algorithm: "adam", step: 2, buffers: ["exp_avg": [1], "exp_avg_sq": [1]])))
    }

    // MARK: Construction

    func testInvalidHyperparametersRejected() {
        let invalid: [(String, () throws -> AnyObject)] = [
            ("lr", { try SGD<Float>(learningRate: -0.1) }),
            ("momentum", { try SGD<Float>(learningRate: 0.1, momentum: -0.5) }),
            ("momentum", { try SGD<Float>(learningRate: 0.1, nesterov: true) }),
            ("dampening", { try SGD<Float>(learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true) }),
            ("beta1", { try Adam<Float>(betas: (1, 0.999)) }),
            ("beta2", { try Adam<Float>(betas: (0.9, -0.1)) }),
            ("eps", { try Adam<Float>(eps: -1e-8) }),
            ("weight_decay", { try Adam<Float>(weightDecay: -1) }),
            ("lr", { try Adam<Float>(learningRate: .nan) }),
            ("lr", { try Adam<Float>(learningRate: .infinity) }),
            ("beta2", { try Adamax<Float>(betas: (0.9, 1.5)) }),
            ("alpha", { try RMSprop<Float>(alpha: -0.9) }),
            ("momentum", { try RMSprop<Float>(momentum: -1) }),
            ("lr_decay", { try Adagrad<Float>(learningRateDecay: -1) }),
            ("initial_accumulator_value", { try Adagrad<Float>(initialAccumulatorValue: -1) }),
            ("rho", { try Adadelta<Float>(rho: 1.1) }),
        ]
        for (name, make) in invalid {
            XCTAssertThrowsError(try make(), name) { error in
                guard case OptimiserError.invalidHyperparameter(_, let bad, _, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(bad, name)
                XCTAssertTrue("\(error)".contains(name), "\(error)")
            }
        }
        XCTAssertNoThrow(try Adadelta<Float>(rho: 1))
        XCTAssertNoThrow(try SGD<Float>(learningRate: 0))
    }

    func testSeedFactory() throws {
        let adam = try XCTUnwrap(try Optimisers.seed("adam", learningRate: 1e-4, scalar: Float.self) as? Adam<Float>)
        XCTAssertEqual([adam.learningRate, adam.beta1, adam.beta2, adam.eps, adam.weightDecay], [1e-4, 0.9, 0.98, 1e-9, 0])
        XCTAssertFalse(adam.amsgrad)
        let adamax = try XCTUnwrap(try Optimisers.seed("adamax", learningRate: 1e-3, scalar: Float.self) as? Adamax<Float>)
        XCTAssertEqual([adamax.learningRate, adamax.beta1, adamax.beta2, adamax.eps], [1e-3, 0.9, 0.98, 1e-9])
        let rmsprop = try XCTUnwrap(try Optimisers.seed("rmsprop", learningRate: 1e-4, scalar: Float.self) as? RMSprop<Float>)
        XCTAssertEqual([rmsprop.learningRate, rmsprop.alpha, rmsprop.eps, rmsprop.momentum, rmsprop.weightDecay], [1e-4, 0.99, 1e-10, 0.9, 0])
        XCTAssertFalse(rmsprop.centered)
        let sgd = try XCTUnwrap(try Optimisers.seed("sgd", learningRate: 0.5, scalar: Float.self) as? SGD<Float>)
        XCTAssertEqual([sgd.learningRate, sgd.momentum], [0.5, 0])
        let adagrad = try XCTUnwrap(try Optimisers.seed("adagrad", learningRate: 0.5, scalar: Double.self) as? Adagrad<Double>)
        XCTAssertEqual([adagrad.learningRate, adagrad.eps, adagrad.learningRateDecay], [0.5, 1e-10, 0])
        let adadelta = try XCTUnwrap(try Optimisers.seed("adadelta", learningRate: 0.5, scalar: Double.self) as? Adadelta<Double>)
        XCTAssertEqual([adadelta.learningRate, adadelta.rho, adadelta.eps], [0.5, 0.9, 1e-6])
        for name in Optimisers.names { XCTAssertEqual(try Optimisers.seed(name, learningRate: 1e-3, scalar: Float.self).name, name) }

        XCTAssertThrowsError(try Optimisers.seed("adamw", learningRate: 1e-3, scalar: Float.self)) { error in
            XCTAssertEqual(error as? OptimiserError, .unknownOptimiser("adamw"))
            XCTAssertTrue("\(error)".contains("'adamw'"))
        }
        XCTAssertThrowsError(try Optimisers.seed("adam", learningRate: -1, scalar: Float.self))
    }

    // MARK: Global-norm clipping

    func testClipScalesWhenAbove() {
        func run<T: Real>(_: T.Type) {
            let store = makeStore([0, 0, 0, 0], T.self)
            for (i, g) in [3.0, 0, -4, 0].enumerated() { store.gradients[i] = T(g) }
            let norm = clipGlobalNorm(store, maxNorm: 1)
            XCTAssertEqual(norm, 5, accuracy: 1e-12)
            let factor = 1 / (5 + 1e-6)
            XCTAssertEqual(Double(store.gradients[0]), 3 * factor, accuracy: 1e-7 * 3 * factor)
            XCTAssertEqual(Double(store.gradients[2]), -4 * factor, accuracy: 1e-7 * 4 * factor)
            XCTAssertEqual(store.gradients[1], 0)
        }
        run(Float.self)
        run(Double.self)
    }

    func testClipLeavesGradientsBelowTheLimitUntouched() {
        func run<T: Real>(_: T.Type) {
            let store = makeStore([0, 0, 0], T.self)
            for (i, g) in [0.1, -0.7, 0.3].enumerated() { store.gradients[i] = T(g) }
            let before = store.flatGradients
            let norm = clipGlobalNorm(store, maxNorm: 50)
            XCTAssertEqual(norm, (0.01 + 0.49 + 0.09).squareRoot(), accuracy: 1e-7)
            XCTAssertEqual(store.flatGradients, before)
            XCTAssertEqual(clipGlobalNorm(store, maxNorm: 1), norm)  // factor 1.3: still untouched
            XCTAssertEqual(store.flatGradients, before)
            // Exactly at the limit the factor is just below 1 (the 1e-6), as in PyTorch.
            let limit = Double(norm)
            _ = clipGlobalNorm(store, maxNorm: limit)
            XCTAssertNotEqual(store.flatGradients, before)
        }
        run(Float.self)
        run(Double.self)
    }

    func testClipReportsNonFiniteNormAndLeavesGradients() {
        let store = makeStore([0, 0, 0], Float.self)
        for (i, g) in [Float(1), .nan, 2].enumerated() { store.gradients[i] = g }
        XCTAssertTrue(clipGlobalNorm(store, maxNorm: 1).isNaN)
        XCTAssertEqual(store.gradients[0], 1)
        store.gradients[1] = .infinity
        XCTAssertEqual(clipGlobalNorm(store, maxNorm: 1), .infinity)
        XCTAssertEqual(store.gradients[2], 2)
    }

    func testClipHandlesFloatSumsAndHugeDoubles() {
        // 10⁶ Float gradients of 1e-3: a Float sum of the squares would be off by about 1e-3
        // relative; the Double one is good to about 1e-11.
        let store = ParameterStore<Float>()
        store.add("big", shape: [1_000_000])
        store.gradients.update(repeating: 1e-3, count: store.count)
        XCTAssertEqual(clipGlobalNorm(store, maxNorm: 50), Double(Float(1e-3)) * 1000, accuracy: 1e-9)
        // Squares of 1e200 overflow Double; the rescaled norm does not.
        let huge = makeStore([0, 0], Double.self)
        huge.gradients[0] = 3e200
        huge.gradients[1] = 4e200
        XCTAssertEqual(clipGlobalNorm(huge, maxNorm: 1), 5e200, accuracy: 1e186)
        XCTAssertEqual(huge.gradients[0], 0.6, accuracy: 1e-12)
    }
}

import DNCLayers
import DNCNumerics
import TestSupport
import XCTest

/// Expected values come from a few lines of numpy (float64) straight from the textbook
/// definitions (BCE as −[y·ln σ(x) + (1−y)·ln(1−σ(x))], cross-entropy through an explicit
/// softmax), not from the stable forms the code uses.
final class LossTests: XCTestCase {
    // A 2×3 example shared by BCE and MSE.
    let logits: [Double] = [0.5, -1.2, 3.0, -0.3, 2.2, -4.0]
    let targets: [Double] = [1, 0, 1, 0, 0.5, 1]
    let weights: [Double] = [1, 0, 2, 0.5, 1, 0]
    // A 3×4 example for cross-entropy.
    let classLogits: [Double] = [1, 2, 0.5, -1, 0, 0, 0, 0, 3, -2, 1, 0.2]
    let classes = [1, 3, 0]
    let probabilities: [Double] = [0.1, 0.6, 0.3, 0, 0.25, 0.25, 0.25, 0.25, 0.7, 0, 0.2, 0.1]
    let rowWeights: [Double] = [0.5, 2, 1]

    // MARK: Helpers

    typealias ElementLoss = (UnsafePointer<Double>, UnsafePointer<Double>, UnsafePointer<Double>?, Int, UnsafeMutablePointer<Double>?) -> Double

    static func bce(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ w: UnsafePointer<Double>?, _ n: Int,
                    _ g: UnsafeMutablePointer<Double>?) -> Double {
        Losses.binaryCrossEntropyWithLogits(logits: x, targets: y, weights: w, count: n, gradient: g)
    }

    static func mse(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, _ w: UnsafePointer<Double>?, _ n: Int,
                    _ g: UnsafeMutablePointer<Double>?) -> Double {
        Losses.meanSquaredError(predictions: x, targets: y, weights: w, count: n, gradient: g)
    }

    func evaluate(_ loss: ElementLoss, _ x: [Double], _ y: [Double], _ w: [Double]?) -> (Double, [Double]) {
        var gradient = [Double](repeating: .nan, count: x.count)
        let value = gradient.withUnsafeMutableBufferPointer { g in
            w == nil ? loss(x, y, nil, x.count, g.baseAddress) : loss(x, y, w!, x.count, g.baseAddress)
        }
        return (value, gradient)
    }

    func checkGradient(_ loss: ElementLoss, _ x: [Double], _ y: [Double], _ w: [Double]?, label: String) {
        let (_, analytic) = evaluate(loss, x, y, w)
        GradientCheck.compare(point: x, analytic: analytic, label: label) { point in
            w == nil ? loss(point, y, nil, point.count, nil) : loss(point, y, w!, point.count, nil)
        }
    }

    func crossEntropy(_ x: [Double], classes: [Int]? = nil, probabilities: [Double]? = nil, rowWeights: [Double]? = nil,
                      gradient: UnsafeMutablePointer<Double>?) -> Double {
        let columns = 4, rows = x.count / columns
        func run(_ w: UnsafePointer<Double>?) -> Double {
            if let classes {
                return Losses.softmaxCrossEntropy(logits: x, rows: rows, columns: columns, classes: classes, rowWeights: w, gradient: gradient)
            }
            return Losses.softmaxCrossEntropy(logits: x, rows: rows, columns: columns, probabilities: probabilities!, rowWeights: w, gradient: gradient)
        }
        return rowWeights.map { run($0) } ?? run(nil)
    }

    func checkCrossEntropyGradient(classes: [Int]? = nil, probabilities: [Double]? = nil, rowWeights: [Double]? = nil, label: String) {
        var analytic = [Double](repeating: .nan, count: classLogits.count)
        _ = analytic.withUnsafeMutableBufferPointer {
            crossEntropy(classLogits, classes: classes, probabilities: probabilities, rowWeights: rowWeights, gradient: $0.baseAddress)
        }
        GradientCheck.compare(point: classLogits, analytic: analytic, label: label) {
            crossEntropy($0, classes: classes, probabilities: probabilities, rowWeights: rowWeights, gradient: nil)
        }
    }

    // MARK: Binary cross-entropy with logits

    func testBCEValueAndGradientMatchDefinition() {
        let (mean, gradient) = evaluate(Self.bce, logits, targets, nil)
        XCTAssertEqual(mean, 1.0939225492078186, accuracy: 1e-14)
        // (σ(x) − y) / 6
        let expected = [-0.0629234447996909, 0.03857920275016373, -0.007904312196261106,
                        0.07092624719805683, 0.0667082518133858, -0.16366896500631808]
        for (a, e) in zip(gradient, expected) { XCTAssertEqual(a, e, accuracy: 1e-15) }
        XCTAssertEqual(evaluate(Self.bce, logits, targets, weights).0, 0.45633613985123334, accuracy: 1e-14)
    }

    func testBCEGradient() {
        checkGradient(Self.bce, logits, targets, nil, label: "bce")
        checkGradient(Self.bce, logits, targets, weights, label: "bce weighted")
    }

    func testBCEExtremeLogitsStayFinite() {
        let x: [Double] = [100, -100, 100, -100, 1000, -1000]
        let y: [Double] = [1, 1, 0, 0, 0.5, 0.5]
        let (value, gradient) = evaluate(Self.bce, x, y, nil)
        // Per element: ~0, 100, 100, ~0, 500, 500.
        XCTAssertEqual(value, 1200.0 / 6, accuracy: 1e-12)
        for (a, e) in zip(gradient, [0, -1, 1, 0, 0.5, -0.5]) { XCTAssertEqual(a, e / 6, accuracy: 1e-16) }
        let (floatValue, floatGradient) = Losses.binaryCrossEntropyWithLogits(
            Tensor<Float>(shape: [2, 3], storage: x.map(Float.init)), targets: Tensor(shape: [2, 3], storage: y.map(Float.init)))
        XCTAssertEqual(floatValue, 200, accuracy: 1e-4)
        XCTAssertTrue(floatGradient.storage.allSatisfy(\.isFinite))
    }

    // MARK: Mean squared error

    func testMSEValue() {
        let (mean, gradient) = evaluate(Self.mse, logits, targets, nil)
        XCTAssertEqual(mean, 5.611666666666667, accuracy: 1e-14)
        XCTAssertEqual(gradient[0], 2 * (0.5 - 1) / 6, accuracy: 1e-15)
        XCTAssertEqual(evaluate(Self.mse, logits, targets, weights).0, 2.4855555555555555, accuracy: 1e-14)
    }

    func testMSEGradient() {
        checkGradient(Self.mse, logits, targets, nil, label: "mse")
        checkGradient(Self.mse, logits, targets, weights, label: "mse weighted")
    }

    // MARK: Softmax cross-entropy

    func testCrossEntropyValues() {
        var gradient = [Double](repeating: .nan, count: 12)
        let mean = gradient.withUnsafeMutableBufferPointer { crossEntropy(classLogits, classes: classes, gradient: $0.baseAddress) }
        XCTAssertEqual(mean, 0.6887325593588285, accuracy: 1e-14)
        // (softmax(row 0) − onehot(1)) / 3
        let expected = [0.07473593934940038, -0.13017998746704096, 0.045329638597835176, 0.01011440951980541]
        for (a, e) in zip(gradient, expected) { XCTAssertEqual(a, e, accuracy: 1e-15) }
        XCTAssertEqual(crossEntropy(classLogits, classes: classes, rowWeights: rowWeights, gradient: nil), 0.915686025758128, accuracy: 1e-14)
        XCTAssertEqual(crossEntropy(classLogits, probabilities: probabilities, gradient: nil), 1.0987325593588284, accuracy: 1e-14)
        XCTAssertEqual(crossEntropy(classLogits, probabilities: probabilities, rowWeights: rowWeights, gradient: nil),
                       1.1885431686152708, accuracy: 1e-14)
    }

    func testCrossEntropyGradients() {
        checkCrossEntropyGradient(classes: classes, label: "ce classes")
        checkCrossEntropyGradient(classes: classes, rowWeights: rowWeights, label: "ce classes weighted")
        checkCrossEntropyGradient(probabilities: probabilities, label: "ce probabilities")
        checkCrossEntropyGradient(probabilities: probabilities, rowWeights: rowWeights, label: "ce probabilities weighted")
        // Rows that do not sum to 1 (PyTorch does not require it): the softmax term scales with Σp.
        checkCrossEntropyGradient(probabilities: probabilities.enumerated().map { $1 * [0.5, 1, 1.5][$0 / 4] },
                                  label: "ce unnormalised probabilities")
    }

    func testOneHotProbabilitiesEqualClassTargets() {
        var oneHot = [Double](repeating: 0, count: 12)
        for (r, c) in classes.enumerated() { oneHot[r * 4 + c] = 1 }
        let byClass = Losses.softmaxCrossEntropy(Tensor(shape: [3, 4], storage: classLogits), classes: classes, rowWeights: rowWeights)
        let byProbability = Losses.softmaxCrossEntropy(Tensor(shape: [3, 4], storage: classLogits),
                                                       probabilities: Tensor(shape: [3, 4], storage: oneHot), rowWeights: rowWeights)
        XCTAssertEqual(byClass.loss, byProbability.loss, accuracy: 1e-15)
        for (a, b) in zip(byClass.gradient.storage, byProbability.gradient.storage) { XCTAssertEqual(a, b, accuracy: 1e-15) }
    }

    func testCrossEntropyExtremeLogitsStayFinite() {
        let x: [Float] = [100, -100, 0, 0, -100, 100, 100, 100]
        let (value, gradient) = Losses.softmaxCrossEntropy(Tensor(shape: [2, 4], storage: x), classes: [0, 0])
        // Row 0: ~0; row 1: logsumexp ≈ 100 + ln 3, minus −100.
        XCTAssertEqual(value, (200 + log(3)) / 2, accuracy: 1e-4)
        XCTAssertTrue(gradient.storage.allSatisfy(\.isFinite))
        let soft = Losses.softmaxCrossEntropy(Tensor(shape: [2, 4], storage: x),
                                              probabilities: Tensor(shape: [2, 4], storage: [0, 1, 0, 0, 0.5, 0.5, 0, 0]))
        // Row 0: 100 − (−100); row 1: ½(200 + ln 3) + ½ ln 3.
        XCTAssertEqual(soft.loss, (200 + 100 + log(3)) / 2, accuracy: 1e-4)
        XCTAssertTrue(soft.gradient.storage.allSatisfy(\.isFinite))
    }

    // MARK: Masks and the tensor forms

    func testZeroWeightsSkipElementsAndAllZeroGivesZero() {
        // Masked elements may hold garbage, even NaN, without touching the result.
        var x = logits, y = targets
        x[1] = .nan; y[5] = .infinity
        let clean = evaluate(Self.bce, logits, targets, weights), masked = evaluate(Self.bce, x, y, weights)
        XCTAssertEqual(clean.0, masked.0)
        XCTAssertEqual(clean.1, masked.1)
        XCTAssertEqual(masked.1[1], 0)
        for loss in [Self.bce, Self.mse] {
            let (value, gradient) = evaluate(loss, x, y, [Double](repeating: 0, count: 6))
            XCTAssertEqual(value, 0)
            XCTAssertEqual(gradient, [Double](repeating: 0, count: 6))
        }
        let (value, gradient) = Losses.softmaxCrossEntropy(Tensor(shape: [3, 4], storage: classLogits), classes: [-1, 99, 0],
                                                           rowWeights: [0, 0, 0])
        XCTAssertEqual(value, 0)
        XCTAssertEqual(gradient.storage, [Double](repeating: 0, count: 12))
    }

    func testTensorFormsMatchBufferForms() {
        let shape = [2, 3]
        let t = Tensor(shape: shape, storage: logits), y = Tensor(shape: shape, storage: targets), w = Tensor(shape: shape, storage: weights)
        let bce = Losses.binaryCrossEntropyWithLogits(t, targets: y, weights: w), direct = evaluate(Self.bce, logits, targets, weights)
        XCTAssertEqual(bce.loss, direct.0)
        XCTAssertEqual(bce.gradient.storage, direct.1)
        XCTAssertEqual(bce.gradient.shape, shape)
        let mse = Losses.meanSquaredError(t, targets: y), directMSE = evaluate(Self.mse, logits, targets, nil)
        XCTAssertEqual(mse.loss, directMSE.0)
        XCTAssertEqual(mse.gradient.storage, directMSE.1)
        // Cross-entropy over the last axis of a rank-3 tensor: rows are the leading axes.
        let ce3 = Losses.softmaxCrossEntropy(Tensor(shape: [3, 1, 4], storage: classLogits), classes: classes)
        XCTAssertEqual(ce3.loss, 0.6887325593588285, accuracy: 1e-14)
    }

    func testFloatAgreesWithDouble() {
        let float = Losses.binaryCrossEntropyWithLogits(Tensor(shape: [2, 3], storage: logits.map(Float.init)),
                                                        targets: Tensor(shape: [2, 3], storage: targets.map(Float.init)))
        XCTAssertEqual(Double(float.loss), 1.0939225492078186, accuracy: 1e-6)
        let ce = Losses.softmaxCrossEntropy(Tensor(shape: [3, 4], storage: classLogits.map(Float.init)), classes: classes)
        XCTAssertEqual(Double(ce.loss), 0.6887325593588285, accuracy: 1e-6)
    }
}

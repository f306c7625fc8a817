import XCTest
@testable import DNCNumerics

/// Products by matrices kept as column panels (`PanelMatrix`) against a naive loop: whole
/// matrices with a padded last panel, row and column sub-views, beta 0 and 1, every path.
final class PanelMatrixTests: XCTestCase {
    /// Deterministic values in [-1, 1).
    func values<T: Real>(_ count: Int, seed: Int) -> [T] {
        (0..<count).map { i in T(Double((i &* 2_654_435_761 &+ seed &* 40_503) % 2_001) / 1000 - 1) }
    }

    /// `matrix` (rows×columns, row-major) as panels of `width`, the padding filled with NaN so
    /// that a product that read it would show.
    func panels<T: Real>(_ matrix: [T], rows: Int, columns: Int, width: Int) -> [T] {
        let stride = rows * width
        var packed = [T](repeating: .nan, count: PanelMatrix<T>.size(rows: rows, columns: columns, width: width))
        for r in 0..<rows {
            for c in 0..<columns {
                packed[PanelMatrix<T>.offset(row: r, column: c, width: width, panelStride: stride)] = matrix[r * columns + c]
            }
        }
        return packed
    }

    func testOffsetsTileTheBufferExactly() {
        let rows = 5, columns = 70, width = 32, stride = rows * width
        var seen = Set<Int>()
        for r in 0..<rows { for c in 0..<columns { seen.insert(PanelMatrix<Float>.offset(row: r, column: c, width: width, panelStride: stride)) } }
        XCTAssertEqual(seen.count, rows * columns, "two elements share a place")
        XCTAssertEqual(PanelMatrix<Float>.size(rows: rows, columns: columns, width: width), 3 * rows * width)
        XCTAssertLessThan(seen.max()!, PanelMatrix<Float>.size(rows: rows, columns: columns, width: width))
        XCTAssertEqual(PanelMatrix<Float>.offset(row: 2, column: 33, width: width, panelStride: stride), stride + 2 * width + 1)
    }

    func check<T: Real>(_: T.Type, tolerance: Double) {
        // (m, k, n, width): dnc-paper's gate products, a padded last panel, one partial panel.
        for (m, k, n, width) in [(16, 134, 1024, 32), (3, 7, 70, 32), (2, 40, 5, 32), (5, 9, 48, 16)] {
            let aPad = 3, lda = k + aPad
            let a: [T] = values(m * lda, seed: 1), b: [T] = values(k * n, seed: 2)
            let packed = panels(b, rows: k, columns: n, width: width)
            // Sub-views: all rows and columns, rows 2..<k (as the hidden part of [W_ihᵀ; W_hhᵀ]),
            // and from the second panel's first column on.
            var views: [(rows: Range<Int>, columns: Range<Int>)] = [(0..<k, 0..<n)]
            if k > 2 { views.append((2..<k, 0..<n)) }
            if n > width { views.append((0..<k, width..<n)) }
            for view in views {
                for beta in [0.0, 1.0] {
                    for path in ProductPath.allCases {
                        let ldc = view.columns.count + 1
                        let c0: [T] = values(m * ldc, seed: 3)
                        var c = c0
                        packed.withUnsafeBufferPointer { p in
                            a.withUnsafeBufferPointer { ap in
                                let whole = PanelMatrix(base: p.baseAddress!, rows: k, columns: n, width: width, panelStride: k * width)
                                let matrix = whole.rows(view.rows).columns(view.columns)
                                // A's columns that meet the view's rows.
                                Kernels.gemm(m: m, a: ap.baseAddress! + view.rows.lowerBound, lda: lda,
                                             panels: matrix, beta: T(beta), c: &c, ldc: ldc, path: path)
                            }
                        }
                        let label = "\(T.self) \(path) \(m)×\(n)×\(k) width \(width) rows \(view.rows) columns \(view.columns) β \(beta)"
                        for i in 0..<m {
                            for (jj, j) in view.columns.enumerated() {
                                var sum = 0.0, scale = 0.0
                                for p in view.rows {
                                    let x = Double(a[i * lda + p]) * Double(b[p * n + j])
                                    sum += x
                                    scale += Swift.abs(x)
                                }
                                let expected = sum + beta * Double(c0[i * ldc + jj])
                                scale += Swift.abs(beta * Double(c0[i * ldc + jj]))
                                let error = Swift.abs(Double(c[i * ldc + jj]) - expected) / Swift.max(scale, .leastNormalMagnitude)
                                if !(error <= tolerance) { XCTFail("\(label): C[\(i), \(jj)] off by \(error)"); return }
                            }
                            XCTAssertEqual(c[i * ldc + ldc - 1], c0[i * ldc + ldc - 1], "\(label): wrote past the columns")
                        }
                    }
                }
            }
        }
    }

    func testDoubleProductsByPanelsMatchTheNaiveLoop() { check(Double.self, tolerance: 1e-12) }
    func testFloatProductsByPanelsMatchTheNaiveLoop() { check(Float.self, tolerance: 1e-5) }
}

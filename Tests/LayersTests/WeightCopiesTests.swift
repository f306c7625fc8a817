import XCTest
@testable import DNCLayers
import DNCNumerics

/// `WeightCopies`: both layouts hold every block where it belongs, transposed or not, with zeros
/// elsewhere; they follow the weights from one activation to the next, and a kept generation
/// stays as it was.
final class WeightCopiesTests: XCTestCase {
    /// Weights in one copy: A (5, 3) and B (5, 40) as the recurrent layer's `[W_ihᵀ; W_hhᵀ]`
    /// (transposed, stacked) or `[W_ih | W_hh]` (as they are, B from column 32); and a third, C,
    /// that starts inside a panel and crosses into the next (as the interface's blocks side by side).
    func make(transposed: Bool) -> (ParameterStore<Double>, WeightCopies<Double>, [ParameterSlot]) {
        let store = ParameterStore<Double>()
        let a = store.add("a", shape: [5, 3]), b = store.add("b", shape: [5, 40])
        let c = store.add("c", shape: transposed ? [40, 3] : [3, 40])
        for i in 0..<store.count { store.values[i] = Double(i + 1) }
        let copies = transposed
            ? WeightCopies<Double>(rows: 43, columns: 45, blocks: [.init(a), .init(b, row: 3), .init(c, column: 5)])
            : WeightCopies<Double>(rows: 8, columns: 72, blocks: [.init(a, transposed: false),
                                                                  .init(b, column: 32, transposed: false),
                                                                  .init(c, row: 5, column: 3, transposed: false)])
        return (store, copies, [a, b, c])
    }

    /// The copy's element (r, c) computed from the store.
    func expected(_ store: ParameterStore<Double>, _ copies: WeightCopies<Double>, _ r: Int, _ c: Int) -> Double {
        for block in copies.blocks {
            let (out, input) = (block.slot.shape[0], block.slot.shape[1])
            let (i, j) = block.transposed ? (c - block.column, r - block.row) : (r - block.row, c - block.column)
            if i >= 0, i < out, j >= 0, j < input { return store.values(block.slot)[i * input + j] }
        }
        return 0
    }

    func checkLayouts(_ store: ParameterStore<Double>, _ copies: WeightCopies<Double>, _ label: String) {
        guard let rowMajor = copies.pointer, let panels = copies.panels else { return XCTFail("\(label): not active") }
        XCTAssertEqual(panels.panelCount, (copies.columns + panels.width - 1) / panels.width)
        for r in 0..<copies.rows {
            for c in 0..<copies.columns {
                let value = expected(store, copies, r, c)
                XCTAssertEqual(rowMajor[r * copies.columns + c], value, "\(label): row-major (\(r), \(c))")
                let offset = PanelMatrix<Double>.offset(row: r, column: c, width: panels.width, panelStride: panels.panelStride)
                XCTAssertEqual(panels.base[offset], value, "\(label): panels (\(r), \(c))")
            }
        }
    }

    func testBothLayoutsHoldEveryBlockInBothOrientations() {
        for transposed in [true, false] {
            let (store, copies, _) = make(transposed: transposed)
            XCTAssertNil(copies.pointer)
            XCTAssertNil(copies.panels)
            copies.activate(store: store)
            checkLayouts(store, copies, "transposed \(transposed)")
            copies.deactivate()
            XCTAssertNil(copies.pointer, "inactive")
            XCTAssertNil(copies.panels, "inactive")
        }
    }

    func testCopiesFollowTheWeightsUnlessAGenerationIsKept() {
        let (store, copies, slots) = make(transposed: false)
        copies.activate(store: store)
        let first = copies.generation
        _ = copies.panels
        copies.deactivate()
        // Changed weights: kept generation → the old copy; a fresh activation → the new weights.
        store.values(slots[1])[7] = -123
        copies.activate(store: store, keeping: first)
        XCTAssertEqual(copies.generation, first)
        let panels = copies.panels!
        XCTAssertEqual(panels.base[PanelMatrix<Double>.offset(row: 0, column: 32 + 7, width: panels.width,
                                                              panelStride: panels.panelStride)], 23, "the kept copy")
        copies.deactivate()
        copies.activate(store: store)
        XCTAssertNotEqual(copies.generation, first)
        checkLayouts(store, copies, "after a refresh")
        copies.deactivate()
    }
}

import XCTest
import DNCNumerics
@testable import DNCMemories

/// Finite-difference checks of DNC-MD's three options (docs/dense-memory.md, "DNC-MD options")
/// with `MemoryGradientTests`' harness: each alone and all three, both interface layouts, from
/// the zero and from a random state (the wiring tests are in `MemoryImprovementsTests`).
extension MemoryGradientTests {
    /// A smaller step than the DNC's checks: the sharpening's log(d + ε) bends on the scale of the
    /// smallest directional weights d (≈ 1e-3 after a few steps), where h = 1e-3 leaves the region in
    /// which the fourth-order stencil is exact; the larger floor keeps the rounding noise of the
    /// smaller step (≈ 1e-12) out of the relative error of gradients below it.
    static let dncmdStep = 1e-4
    static let dncmdFloor = 1e-4

    func testDNCMDMaskedLookupGradients() {
        checkAllLayouts(options: MemoryImprovementsTests.options(MemoryImprovementsTests.masked), randomStart: true, seed: 31, step: Self.dncmdStep, floor: Self.dncmdFloor)
        checkAllLayouts(options: MemoryImprovementsTests.options(MemoryImprovementsTests.masked), randomStart: false, seed: 32, step: Self.dncmdStep, floor: Self.dncmdFloor)
    }

    func testDNCMDDeallocationGradients() {
        checkAllLayouts(options: MemoryImprovementsTests.options(MemoryImprovementsTests.deallocating), randomStart: true, seed: 33, step: Self.dncmdStep, floor: Self.dncmdFloor)
        checkAllLayouts(options: MemoryImprovementsTests.options(MemoryImprovementsTests.deallocating), randomStart: false, seed: 34, step: Self.dncmdStep, floor: Self.dncmdFloor)
    }

    func testDNCMDLinkSharpnessGradients() {
        checkAllLayouts(options: MemoryImprovementsTests.options(MemoryImprovementsTests.sharpened), randomStart: true, seed: 35, step: Self.dncmdStep, floor: Self.dncmdFloor)
        checkAllLayouts(options: MemoryImprovementsTests.options(MemoryImprovementsTests.sharpened), randomStart: false, seed: 36, step: Self.dncmdStep, floor: Self.dncmdFloor)
    }

    /// All three together, with pytorch-dnc's cosine and squashing too, over a long sequence
    /// across link snapshots with samples finishing early.
    func testDNCMDAllThreeGradients() {
        checkAllLayouts(options: MemoryImprovementsTests.options(.all), randomStart: true, seed: 37, step: Self.dncmdStep, floor: Self.dncmdFloor)
        var compat = MemoryOptions.pytorchCompat
        compat.improvements = .all
        checkAllLayouts(options: compat, randomStart: true, seed: 38, step: Self.dncmdStep, floor: Self.dncmdFloor)
        let sizes = MemoryHarness.Sizes(batch: 3, steps: 9)
        let active = (0..<sizes.steps).map { t in [true, t < 5, t < 7] }
        check(options: MemoryImprovementsTests.options(.all), independent: false, randomStart: true, seed: 39, sizes: sizes,
                     active: active, linkSnapshotInterval: 4, step: Self.dncmdStep, floor: Self.dncmdFloor, file: #filePath, line: #line)
    }

}

import XCTest
import DNCMemories
@testable import DNCModels

/// Finite differences of DNC-MD's options (docs/dense-memory.md, "DNC-MD options") through the
/// whole DNC, with `DNCGradientTests`' harness (its step 1e-4 suits the sharpening's log, see
/// `MemoryGradientTests.dncmdStep`).
extension DNCGradientTests {
    /// Each option (and all three) through the DNC, with the harness of `DNCGradientTests`.
    func testDNCMDOptionsThroughTheModel() {
        for (name, improvements) in DNCImprovementsTests.each {
            var c = small(.lstm)
            c.memoryImprovements = improvements
            check(c, label: "DNC-MD \(name)")
        }
        var c = small(.gru)
        c.layerCount = 2
        c.controllerDepth = 1
        c.shareMemoryBetweenLayers = false
        c.independentLinears = true
        c.memoryImprovements = .all
        check(c, label: "DNC-MD all three, two layers, separate memories, independent linears")
    }
}

import XCTest
@testable import DNCNumerics

/// The kernel choice is a pure function of the environment, the CPU flags and OpenBLAS's own pick.
final class BLASRuntimeTests: XCTestCase {
    let avx512: Set<String> = ["pni", "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    let avx2: Set<String> = ["pni", "sse4_2", "avx", "avx2", "fma"]

    func testPicksTheBestKernelsTheCPUSupports() {
        XCTAssertEqual(BLASRuntime.bestCore(flags: avx512), "SkylakeX")
        XCTAssertEqual(BLASRuntime.bestCore(flags: avx2), "Haswell")
        XCTAssertEqual(BLASRuntime.decide(environment: [:], flags: avx512, currentCore: "Prescott"),
                       .relaunch(core: "SkylakeX", reason: "automatic: OpenBLAS picked Prescott"))
        XCTAssertEqual(BLASRuntime.decide(environment: [:], flags: avx2, currentCore: "Haswell"),
                       .keep(reason: "best kernels for this CPU, chosen by OpenBLAS"))
        // OpenBLAS's own pick of the same class is kept (no needless relaunch) ...
        XCTAssertEqual(BLASRuntime.decide(environment: [:], flags: avx512, currentCore: "Cooperlake"),
                       .keep(reason: "kernels of the best class for this CPU, chosen by OpenBLAS"))
        // ... a weaker one is not.
        XCTAssertEqual(BLASRuntime.decide(environment: [:], flags: avx512, currentCore: "Haswell"),
                       .relaunch(core: "SkylakeX", reason: "automatic: OpenBLAS picked Haswell"))
        // AMD's Zen kernels are of the Haswell class.
        XCTAssertEqual(BLASRuntime.decide(environment: [:], flags: avx2, currentCore: "Zen"),
                       .keep(reason: "kernels of the best class for this CPU, chosen by OpenBLAS"))
    }

    func testUserOverridesWin() {
        if case .keep = BLASRuntime.decide(environment: ["OPENBLAS_CORETYPE": "Haswell"], flags: avx512, currentCore: "Haswell") {} else {
            XCTFail("a user's OPENBLAS_CORETYPE must be kept")
        }
        XCTAssertEqual(BLASRuntime.decide(environment: ["DNC_BLAS_CORE": "Haswell"], flags: avx512, currentCore: "Prescott"),
                       .relaunch(core: "Haswell", reason: "DNC_BLAS_CORE=Haswell; OpenBLAS picked Prescott"))
        if case .keep = BLASRuntime.decide(environment: ["DNC_BLAS_CORE": "default"], flags: avx512, currentCore: "Prescott") {} else {
            XCTFail("DNC_BLAS_CORE=default keeps OpenBLAS's choice")
        }
        if case .keep = BLASRuntime.decide(environment: ["DNC_BLAS_RELAUNCHED": "1"], flags: avx512, currentCore: "Prescott") {} else {
            XCTFail("never relaunch twice")
        }
    }

    func testPaddedOrBlankValuesMeanWhatTheyTrimTo() {
        // " auto " and a blank value leave the choice to dnc: OpenBLAS's pick of the best class is
        // kept, and a relaunch (from a weaker pick) is reported as automatic, not as the user's.
        for value in [" auto ", "AUTO", " ", ""] {
            XCTAssertEqual(BLASRuntime.decide(environment: ["DNC_BLAS_CORE": value], flags: avx512, currentCore: "Cooperlake"),
                           .keep(reason: "kernels of the best class for this CPU, chosen by OpenBLAS"), "DNC_BLAS_CORE=\"\(value)\"")
            XCTAssertEqual(BLASRuntime.decide(environment: ["DNC_BLAS_CORE": value], flags: avx512, currentCore: "Haswell"),
                           .relaunch(core: "SkylakeX", reason: "automatic: OpenBLAS picked Haswell"), "DNC_BLAS_CORE=\"\(value)\"")
        }
        XCTAssertEqual(BLASRuntime.decide(environment: ["DNC_BLAS_CORE": " Haswell "], flags: avx512, currentCore: "Prescott"),
                       .relaunch(core: "Haswell", reason: "DNC_BLAS_CORE=Haswell; OpenBLAS picked Prescott"))
    }

    func testImpossibleRequestsAreRejectedWithTheReason() {
        guard case .invalid(let message) = BLASRuntime.decide(environment: ["DNC_BLAS_CORE": "SkylakeX"], flags: avx2, currentCore: "Haswell") else {
            return XCTFail("SkylakeX on an AVX2-only CPU must be refused")
        }
        XCTAssertTrue(message.contains("avx512f"), message)
        guard case .invalid = BLASRuntime.decide(environment: ["DNC_BLAS_CORE": "Sky;lake"], flags: avx512, currentCore: "Haswell") else {
            return XCTFail("a malformed name must be refused")
        }
    }

    func testReadsCpuinfoFlags() {
        let text = "processor\t: 0\nflags\t\t: fpu pni avx2 fma\nbugs\t: none\n"
        XCTAssertEqual(BLASRuntime.cpuFlags(cpuinfo: text), ["fpu", "pni", "avx2", "fma"])
        XCTAssertEqual(BLASRuntime.cpuFlags(cpuinfo: "nothing"), [])
    }
}

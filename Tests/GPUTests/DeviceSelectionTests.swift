import XCTest
@testable import DNCGPU

/// `-cuda N` → device, for every situation a rank can be in (issue #14), without a GPU.
final class DeviceSelectionTests: XCTestCase {
    typealias D = DeviceSelection.Decision

    func decide(_ requested: Int, rank: Int = 0, of size: Int = 1, _ driver: DeviceSelection.Driver,
                visible: String? = nil) -> D {
        DeviceSelection.decide(requested: requested, localRank: rank, localSize: size, driver: driver, visibleDevices: visible)
    }

    func testTableOfCases() {
        let noDriver = DeviceSelection.Driver.unusable(reason: "no GPU: libcuda.so.1 not found (no NVIDIA driver)")
        let cases: [(String, D, D)] = [
            ("-cuda -1 never looks at the driver", decide(-1, noDriver), .cpu),
            ("-cuda -1 with GPUs", decide(-1, .usable(deviceCount: 8)), .cpu),
            ("no driver", decide(0, noDriver), .cpuInstead(reason: "no GPU: libcuda.so.1 not found (no NVIDIA driver)", device: nil)),
            ("one process takes GPU N", decide(3, .usable(deviceCount: 8)), .gpu(device: 3)),
            ("one process, GPU 0 of 1", decide(0, .usable(deviceCount: 1)), .gpu(device: 0)),
            ("GPU N beyond the visible ones", decide(2, .usable(deviceCount: 2)),
             .cpuInstead(reason: "GPU 2 does not exist: 2 GPUs are visible (0…1)", device: nil)),
            ("driver shows none", decide(0, .usable(deviceCount: 0)), .cpuInstead(reason: "no GPU: the driver shows no device", device: nil)),
            ("8 ranks on 8 GPUs: local rank", decide(0, rank: 5, of: 8, .usable(deviceCount: 8)), .gpu(device: 5)),
            ("8 ranks on 4 GPUs: modulo", decide(0, rank: 5, of: 8, .usable(deviceCount: 4)), .gpu(device: 1)),
            ("several ranks ignore N", decide(7, rank: 2, of: 4, .usable(deviceCount: 4)), .gpu(device: 2)),
            ("--gpus-per-task=1: each rank's own GPU 0", decide(0, rank: 3, of: 4, .usable(deviceCount: 1), visible: "3"), .gpu(device: 0)),
            ("CUDA_VISIBLE_DEVICES renumbers", decide(1, .usable(deviceCount: 2), visible: "4,6"), .gpu(device: 1)),
            ("CUDA_VISIBLE_DEVICES too few", decide(2, .usable(deviceCount: 2), visible: "4,6"),
             .cpuInstead(reason: "GPU 2 does not exist: 2 GPUs are visible (0…1) with CUDA_VISIBLE_DEVICES='4,6'", device: nil)),
            ("empty CUDA_VISIBLE_DEVICES", decide(0, .usable(deviceCount: 0), visible: ""),
             .cpuInstead(reason: "CUDA_VISIBLE_DEVICES='' hides every GPU", device: nil)),
            ("-1 hides", decide(0, noDriver, visible: "-1"), .cpuInstead(reason: "CUDA_VISIBLE_DEVICES='-1' hides every GPU", device: nil)),
            ("Slurm's NoDevFiles hides", decide(0, .usable(deviceCount: 4), visible: "NoDevFiles"),
             .cpuInstead(reason: "CUDA_VISIBLE_DEVICES='NoDevFiles' hides every GPU", device: nil)),
        ]
        for (name, decision, expected) in cases { XCTAssertEqual(decision, expected, name) }
    }

    func testAUsableGPUIsUsed() {
        XCTAssertEqual(DeviceSelection.decide(requested: 0, localRank: 0, localSize: 1, driver: .usable(deviceCount: 1), visibleDevices: nil),
                       .gpu(device: 0))
    }

    func testWarningNamesTheRankOnlyUnderMPI() {
        XCTAssertEqual(DeviceSelection.warning(requested: 0, reason: "no GPU: x", rank: 0, size: 1, localRank: 0, localSize: 1),
                       "warning: -cuda 0: no GPU: x; running on the CPU")
        XCTAssertEqual(DeviceSelection.warning(requested: 0, reason: "no GPU: x", rank: 3, size: 4, localRank: 1, localSize: 2),
                       "warning: rank 3 (node-local rank 1 of 2): -cuda 0: no GPU: x; running on the CPU")
    }
}

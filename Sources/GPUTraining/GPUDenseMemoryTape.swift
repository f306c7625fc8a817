import DNCGPU
import DNCNumerics

/// The layout of one sample's record of a GPU dense memory step (written by memory_step.cu, read
/// by memory_step_backward.cu; the kernels take the offsets from `offsets`, so this is the one
/// definition). Sizes: N cells, W width, R read heads, S interface size.
///
/// Unlike the CPU tape (DenseMemoryTape), which keeps the link every 4th step and recomputes the
/// rest, a GPU record holds everything its backward reads: the state before the step (link
/// included: N² reals per sample and step, which device memory affords at the sizes trained) and
/// the step's intermediates; L_t itself is recomputed in the backward from L_{t−1}, w^w_t, p_{t−1}.
///
/// | # | section | size |
/// |---|---------|------|
/// | 0, 1 | ẑ (raw), ξ (activated) | S each |
/// | 2–7 | M_{t−1}, L_{t−1}, p_{t−1}, w^r_{t−1}, w^w_{t−1}, u_{t−1} | N·W, N², N, R·N, N, N |
/// | 8, 9 | retention ψ, usage u_t | N each |
/// | 10–13 | write content: row norms of M_{t−1}, key norm, cosines, weights | N, 1, N, N |
/// | 14–16 | allocation: sorted û, prefix products, allocation a | N each |
/// | 17, 18 | w^w_t, M_t | N, N·W |
/// | 19, 20 | forward F, backward B weightings | R·N each |
/// | 21–24 | read content: row norms of M_t, key norms, cosines, weights | N, R, R·N, R·N |
/// | 25 | w^r_t | R·N |
///
/// The integer record of a sample holds the free-list order φ (N) then the active flag (1).
struct GPUDenseRecordLayout: Equatable {
    let cells: Int, width: Int, readHeads: Int, interfaceSize: Int
    /// The 26 section offsets, in the table's order.
    let offsets: [Int]
    /// Reals per sample.
    let size: Int
    /// Integers per sample.
    var integerSize: Int { cells + 1 }

    init(cells n: Int, width w: Int, readHeads r: Int, interfaceSize s: Int) {
        cells = n
        width = w
        readHeads = r
        interfaceSize = s
        let sizes = [s, s, n * w, n * n, n, r * n, n, n, n, n, n, 1, n, n, n, n, n, n, n * w, r * n, r * n, n, r,
                     r * n, r * n, r * n]
        var running = 0
        offsets = sizes.map { size in defer { running += size }; return running }
        size = running
    }

    /// Scratch reals per sample of the backward kernel: five R×N and seven N arrays.
    var backwardScratchSize: Int { 5 * readHeads * cells + 7 * cells }
}

/// The device tape of a sequence: `capacity` step records for `batch` samples, each step
/// B × `layout.size` reals and B × `layout.integerSize` integers, plus the backward's scratch.
/// Without recording, one record is reused by every step.
final class GPUDenseMemoryTape<T: Real> {
    let device: any KernelDevice
    let layout: GPUDenseRecordLayout
    let batch: Int, capacity: Int
    let records: DeviceArray<T>
    let integers: DeviceArray<Int32>
    let offsets: DeviceArray<Int32>
    let scratch: DeviceArray<T>

    init(device: any KernelDevice, layout: GPUDenseRecordLayout, batch: Int, capacity: Int) throws(GPUUnavailable) {
        self.device = device
        self.layout = layout
        self.batch = batch
        self.capacity = capacity
        // Not zeroed: the kernels write every entry they later read (on the emulated device fresh
        // memory is NaN, so the tests would show a read of an unwritten entry).
        func uninitialised<E>(_: E.Type, count: Int) throws(GPUUnavailable) -> DeviceArray<E> {
            let buffer = try device.allocate(bytes: max(1, count * MemoryLayout<E>.stride))
            return DeviceArray(pointer: buffer.pointer, count: count)
        }
        records = try uninitialised(T.self, count: capacity * batch * layout.size)
        integers = try uninitialised(Int32.self, count: capacity * batch * layout.integerSize)
        offsets = try device.array(layout.offsets.map { Int32($0) })
        scratch = try uninitialised(T.self, count: batch * layout.backwardScratchSize)
    }

    deinit {
        device.free(records)
        device.free(integers)
        device.free(offsets)
        device.free(scratch)
    }

    /// Step `index`'s reals (B × layout.size).
    func record(_ index: Int) -> DeviceArray<T> {
        records.slice(index * batch * layout.size, count: batch * layout.size)
    }

    /// Step `index`'s integers (B × layout.integerSize).
    func integerRecord(_ index: Int) -> DeviceArray<Int32> {
        integers.slice(index * batch * layout.integerSize, count: batch * layout.integerSize)
    }
}

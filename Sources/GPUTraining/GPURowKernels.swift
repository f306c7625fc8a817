import DNCGPU
import DNCNumerics

/// Launches of the model's row kernels (Sources/CGPUKernels/kernels/model_glue.cu): copies, masks
/// and clamps over `rows` rows of `columns` values with row strides, the glue between the
/// controller, the memory and the output layer of a DNC step on the device. `active` (B int32
/// flags, nil: every sample active) masks row r by sample r mod `batch`.
struct GPURowKernels<T: Real> {
    let device: any KernelDevice
    static var threads: Int { 128 }

    private func launch(_ base: String, rows: Int, columns: Int, _ arguments: [KernelArgument]) throws {
        guard rows > 0 && columns > 0 else { return }
        let threads = Self.threads
        try device.launch(KernelPrecision.of(T.self).kernelName(base), grid: ((columns + threads - 1) / threads, rows),
                          threads: threads, sharedBytes: 0, arguments)
    }

    private static func mask(_ active: DeviceArray<Int32>?) -> KernelArgument {
        .pointer(active?.pointer ?? DevicePointer(address: 0))
    }

    /// dst = src (zero in inactive samples' rows).
    func copyRows(_ src: DevicePointer, ld ldSrc: Int, to dst: DevicePointer, ld ldDst: Int, rows: Int, columns: Int,
                  active: DeviceArray<Int32>? = nil, batch: Int = 1) throws {
        try launch("dnc_model_copy_rows", rows: rows, columns: columns,
                   [.pointer(src), .int(ldSrc), .pointer(dst), .int(ldDst), .int(columns), Self.mask(active), .int(max(1, batch))])
    }

    /// dst += src.
    func addRows(_ src: DevicePointer, ld ldSrc: Int, to dst: DevicePointer, ld ldDst: Int, rows: Int, columns: Int) throws {
        try launch("dnc_model_add_rows", rows: rows, columns: columns, [.pointer(src), .int(ldSrc), .pointer(dst), .int(ldDst), .int(columns)])
    }

    /// In active samples' rows: dst += src, src = 0.
    func moveActiveRows(_ src: DevicePointer, ld ldSrc: Int, into dst: DevicePointer, ld ldDst: Int, rows: Int, columns: Int,
                        active: DeviceArray<Int32>?, batch: Int) throws {
        try launch("dnc_model_move_active_rows", rows: rows, columns: columns,
                   [.pointer(src), .int(ldSrc), .pointer(dst), .int(ldDst), .int(columns), Self.mask(active), .int(batch)])
    }

    /// In inactive samples' rows: dst = saved.
    func restoreInactiveRows(from saved: DevicePointer, ld ldSaved: Int, into dst: DevicePointer, ld ldDst: Int, rows: Int, columns: Int,
                             active: DeviceArray<Int32>, batch: Int) throws {
        try launch("dnc_model_restore_inactive_rows", rows: rows, columns: columns,
                   [.pointer(saved), .int(ldSaved), .pointer(dst), .int(ldDst), .int(columns), .pointer(active.pointer), .int(batch)])
    }

    /// In inactive samples' rows: dst = 0.
    func zeroInactiveRows(_ dst: DevicePointer, ld: Int, rows: Int, columns: Int, active: DeviceArray<Int32>, batch: Int) throws {
        try launch("dnc_model_zero_inactive_rows", rows: rows, columns: columns,
                   [.pointer(dst), .int(ld), .int(columns), .pointer(active.pointer), .int(batch)])
    }

    /// dst = clamp(src, ±limit), or a copy when limit ≤ 0.
    func clampRows(_ src: DevicePointer, ld ldSrc: Int, to dst: DevicePointer, ld ldDst: Int, rows: Int, columns: Int, limit: T) throws {
        try launch("dnc_model_clamp_rows", rows: rows, columns: columns,
                   [.pointer(src), .int(ldSrc), .pointer(dst), .int(ldDst), .int(columns), .real(limit)])
    }

    /// Zeroes the gradient where the clamp cut h (none when limit ≤ 0).
    func clampRowsBackward(hidden: DevicePointer, ld ldHidden: Int, gradient: DevicePointer, ld ldGradient: Int, rows: Int, columns: Int,
                           limit: T) throws {
        guard limit > 0 else { return }
        try launch("dnc_model_clamp_rows_backward", rows: rows, columns: columns,
                   [.pointer(hidden), .int(ldHidden), .pointer(gradient), .int(ldGradient), .int(columns), .real(limit)])
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Whether the calling thread flushes subnormal floating-point numbers to zero.
///
/// Subnormal numbers are the magnitudes below the smallest normal one (1.2e-38 in Float, 2.2e-308
/// in Double). x86 cores compute an operation that reads or makes one in microcode, at about a
/// hundred cycles instead of one. A DNC's training step makes them as a matter of course:
/// - The allocation weighting multiplies the sorted usages, which start at ε = 1e-6; seven cells
///   give 1e-42.
/// - Its backward gives usage gradients that every earlier step multiplies again.
/// - The LSTM's gates saturate (e^−x for a large x).
///
/// With the thread's flush-to-zero and denormals-are-zero modes on (MXCSR bits FTZ and DAZ on
/// x86-64, the FZ bit of FPCR on ARM64), such values are 0 instead. dnc-paper's element-wise work
/// took a median of 40.2 ms per step with IEEE subnormals and 33.9 ms flushed
/// (`dnc-bench --only roofline-dnc-paper`, five processes each, alternating; README,
/// Performance). Values that small do not change training, and TensorFlow runs this way by
/// default.
///
/// `dnc-dist` and `dnc-bench` apply `DNC_SUBNORMALS` (`flush`, the default, or `keep` for IEEE
/// subnormals) at start, on the thread that trains (`applyConfigured`). The library leaves the
/// thread as it finds it: a program that trains with DNCKit calls `enable()` itself. The mode
/// belongs to one thread; every process of a run sets it alike, so runs stay bit-reproducible and
/// equal across rank counts.
public enum SubnormalFlushing {
    #if canImport(Glibc) && arch(x86_64)
    /// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
    static let bits: UInt64 = 0x8040
    #elseif canImport(Glibc) && arch(arm64)
    /// FPCR's flush-to-zero (bit 24).
    static let bits: UInt64 = 1 << 24
    #else
    static let bits: UInt64 = 0
    #endif

    /// Replaces the calling thread's control register (MXCSR on x86-64, FPCR on ARM64) by
    /// `change` of it, writing it only when that differs, and returns the value before; 0 where
    /// there is no such register to this code.
    private static func updateRegister(_ change: (UInt64) -> UInt64) -> UInt64 {
        #if canImport(Glibc) && (arch(x86_64) || arch(arm64))
        var environment = fenv_t()
        fegetenv(&environment)
        #if arch(x86_64)
        let before = UInt64(environment.__mxcsr)
        #else
        let before = UInt64(environment.__fpcr)
        #endif
        let after = change(before)
        if after != before {
            #if arch(x86_64)
            environment.__mxcsr = .init(truncatingIfNeeded: after)
            #else
            environment.__fpcr = .init(truncatingIfNeeded: after)
            #endif
            fesetenv(&environment)
        }
        return before
        #else
        return 0
        #endif
    }

    /// Whether the calling thread flushes subnormals to zero now.
    public static var isEnabled: Bool {
        bits != 0 && updateRegister { $0 } & bits == bits
    }

    /// Turns flushing on or off for the calling thread; returns whether it was on before. False
    /// (and no change) where this platform offers no such mode to this code.
    @discardableResult
    public static func set(_ on: Bool) -> Bool {
        guard bits != 0 else { return false }
        return updateRegister { on ? $0 | bits : $0 & ~bits } & bits == bits
    }

    /// `set(true)`.
    @discardableResult
    public static func enable() -> Bool { set(true) }

    /// What `DNC_SUBNORMALS` asks for (read once per process): true for `flush` or unset, false
    /// for `keep` (case and surrounding blanks ignored); anything else is warned about on stderr
    /// and flushes.
    public static let configured: Bool = {
        let value = ProcessInfo.processInfo.environment["DNC_SUBNORMALS"]
        if let flush = parse(value) { return flush }
        FileHandle.standardError.write(Data("warning: DNC_SUBNORMALS=\(value ?? "") is not flush or keep; using flush\n".utf8))
        return true
    }()

    /// Whether a value of `DNC_SUBNORMALS` asks to flush: true for nil, empty or `flush`, false for
    /// `keep`, nil for anything else.
    public static func parse(_ value: String?) -> Bool? {
        switch (value ?? "").trimmingCharacters(in: .whitespaces).lowercased() {
        case "", "flush": true
        case "keep": false
        default: nil
        }
    }

    /// Sets the calling thread's mode to `configured`.
    public static func applyConfigured() { set(configured) }

    /// One line for `--version`, diagnostics and dnc-bench: what this thread does now.
    public static var summary: String {
        isEnabled ? "flushed to zero (DNC_SUBNORMALS=flush, the default)"
            : "kept, IEEE (DNC_SUBNORMALS=keep, or a platform without the mode)"
    }
}

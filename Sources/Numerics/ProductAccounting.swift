#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a matrix product in a training step is for: the classes of `dnc-bench --only roofline`.
/// The model code names the class around its calls (`ProductAccounting.enter`); a product
/// outside any named group counts as `other`.
public enum ProductClass: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// The recurrent controller's per-step gate products, forward and backward (input and
    /// hidden-state gradients).
    case controller
    /// The interface projection (controller output to the memory's interface vector) and its
    /// input gradient.
    case interface
    /// The memory's own products: content addressing, reads, writes, the temporal link.
    case memory
    /// The output layer and its input gradient.
    case output
    /// The weight gradients (dW), accumulated over many steps' rows in one product.
    case weightGradients
    /// Products outside any named group.
    case other

    public var description: String {
        switch self {
        case .controller: "controller"
        case .interface: "interface"
        case .memory: "memory"
        case .output: "output"
        case .weightGradients: "weight gradients"
        case .other: "other products"
        }
    }

    /// The spelling in `--json` output.
    public var key: String {
        switch self {
        case .weightGradients: "weight_gradients"
        case .other: "other_products"
        default: description
        }
    }
}

/// Calls, floating-point operations (2·m·n·k per product) and wall time of the products of one class.
public struct ProductTally: Sendable, Equatable {
    public var calls = 0
    public var flops = 0
    public var nanoseconds: UInt64 = 0

    public init(calls: Int = 0, flops: Int = 0, nanoseconds: UInt64 = 0) {
        self.calls = calls
        self.flops = flops
        self.nanoseconds = nanoseconds
    }

    public var seconds: Double { Double(nanoseconds) * 1e-9 }

    /// Achieved GFLOP/s (0 when no time was recorded).
    public var gflops: Double { nanoseconds == 0 ? 0 : Double(flops) / Double(nanoseconds) }

    public static func + (a: ProductTally, b: ProductTally) -> ProductTally {
        ProductTally(calls: a.calls + b.calls, flops: a.flops + b.flops, nanoseconds: a.nanoseconds + b.nanoseconds)
    }
}

/// Opt-in accounting at the product seam (`Kernels.gemm`): per `ProductClass`, the calls, FLOPs
/// and the wall time spent inside the products, for `dnc-bench --only roofline`.
///
/// Off by default, and then `Kernels.gemm` reads one flag per call and nothing else (no clock).
/// When on, every product reads `CLOCK_MONOTONIC` before and after (two vDSO calls, some tens of
/// nanoseconds; the roofline prints the step time with and without accounting, so the cost is
/// seen). The class is process-wide state set around groups of calls by the model code
/// (`enter`/`leave`, a save and a store, also when accounting is off): accounting is meant for
/// one model stepping on one thread, as in the benchmark; it is not synchronised.
public enum ProductAccounting {
    /// Whether products are being recorded. Read by `Kernels.gemm` once per call.
    @usableFromInline nonisolated(unsafe) static var enabled = false
    /// The class the products now running belong to.
    @usableFromInline nonisolated(unsafe) static var current: ProductClass = .other
    nonisolated(unsafe) private static var tallies = [ProductTally](repeating: ProductTally(), count: ProductClass.allCases.count)

    public static var isEnabled: Bool { enabled }

    /// The class products are now counted under.
    public static var currentClass: ProductClass { current }

    /// Clears the tallies and starts recording.
    public static func start() {
        reset()
        enabled = true
    }

    /// Stops recording; the tallies stay until the next `start` or `reset`.
    public static func stop() { enabled = false }

    /// Clears the tallies (recording stays as it is).
    public static func reset() {
        for i in tallies.indices { tallies[i] = ProductTally() }
    }

    /// The tallies so far, every class present.
    public static func snapshot() -> [ProductClass: ProductTally] {
        Dictionary(uniqueKeysWithValues: ProductClass.allCases.map { ($0, tallies[$0.rawValue]) })
    }

    /// Names the class of the products that follow and returns the one before, for `leave`:
    /// `let outer = ProductAccounting.enter(.controller); defer { ProductAccounting.leave(outer) }`.
    @inlinable @inline(__always)
    public static func enter(_ productClass: ProductClass) -> ProductClass {
        let outer = current
        current = productClass
        return outer
    }

    /// Restores the class `enter` returned.
    @inlinable @inline(__always)
    public static func leave(_ outer: ProductClass) { current = outer }

    /// Runs `body` with its products counted under `productClass`.
    @inlinable @inline(__always)
    public static func within<R>(_ productClass: ProductClass, _ body: () throws -> R) rethrows -> R {
        let outer = enter(productClass)
        defer { leave(outer) }
        return try body()
    }

    /// `CLOCK_MONOTONIC` in nanoseconds.
    @usableFromInline
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }

    /// Adds one m×n×k product that began at `start` (a `now()`) to the current class.
    @usableFromInline
    static func record(m: Int, n: Int, k: Int, since start: UInt64) {
        let elapsed = now() &- start
        let i = current.rawValue
        tallies[i].calls += 1
        tallies[i].flops += 2 * m * n * k
        tallies[i].nanoseconds += elapsed
    }
}

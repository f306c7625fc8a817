import DNCNumerics

/// A first-order optimiser over a whole `ParameterStore`: PyTorch's `torch.optim` update rules
/// (single-tensor algorithms, `maximize=False`), applied in one pass over the flat buffers.
///
/// Hyper-parameters are Doubles, and the per-step scalars (bias corrections, step sizes) are
/// computed in Double as PyTorch computes them in Python; only the per-element arithmetic runs
/// in `Scalar`.
public protocol Optimiser<Scalar>: AnyObject {
    associatedtype Scalar: Real
    /// pytorch-dnc's `optim` flag value for this algorithm ("adam", "rmsprop", ...).
    var name: String { get }
    /// May change between steps (schedules); must stay finite and non-negative.
    var learningRate: Double { get set }
    /// Updates `store.values` from `store.gradients` (read, not cleared). The state buffers are
    /// created at the first step, sized to `store.count`; the store must not grow afterwards.
    func step(store: ParameterStore<Scalar>)
    /// A copy of everything later steps depend on besides the hyper-parameters.
    func exportState() -> OptimiserState<Scalar>
    /// Restores an exported state exactly; later steps continue bit-identically. Throws
    /// `OptimiserError.incompatibleState` for another algorithm or configuration.
    func importState(_ state: OptimiserState<Scalar>) throws
}

/// An optimiser's state as a checkpoint stores it: the number of steps taken and the per-element
/// buffers under PyTorch's state names ("exp_avg", "exp_avg_sq", "square_avg", ...), each of
/// the store's size. Before the first step `buffers` is empty.
public struct OptimiserState<T: Real>: Equatable, Sendable {
    public var algorithm: String
    public var step: Int
    public var buffers: [String: [T]]

    public init(algorithm: String, step: Int, buffers: [String: [T]]) {
        self.algorithm = algorithm
        self.step = step
        self.buffers = buffers
    }
}

public enum OptimiserError: Error, Equatable, CustomStringConvertible {
    case unknownOptimiser(String)
    case invalidHyperparameter(optimiser: String, name: String, value: Double, requirement: String)
    case incompatibleState(String)

    public var description: String {
        switch self {
        case .unknownOptimiser(let name):
            return "unknown optimiser '\(name)' (expected one of \(Optimisers.names.joined(separator: ", ")))"
        case .invalidHyperparameter(let optimiser, let name, let value, let requirement):
            return "invalid \(optimiser) \(name) \(value): must be \(requirement)"
        case .incompatibleState(let message):
            return "incompatible optimiser state: \(message)"
        }
    }
}

public enum Optimisers {
    /// The values of pytorch-dnc's `optim` flag.
    public static let names = ["adam", "adamax", "rmsprop", "sgd", "adagrad", "adadelta"]

    /// The optimiser pytorch-dnc's task scripts build for `-optim name -lr learningRate`
    /// (docs/tasks.md, Optimisers); every
    /// setting not listed there is PyTorch's default.
    public static func seed<T: Real>(_ name: String, learningRate: Double, scalar: T.Type = T.self) throws -> any Optimiser<T> {
        switch name {
        case "adam": return try Adam<T>(learningRate: learningRate, betas: (0.9, 0.98), eps: 1e-9)
        case "adamax": return try Adamax<T>(learningRate: learningRate, betas: (0.9, 0.98), eps: 1e-9)
        case "rmsprop": return try RMSprop<T>(learningRate: learningRate, eps: 1e-10, momentum: 0.9)
        case "sgd": return try SGD<T>(learningRate: learningRate)
        case "adagrad": return try Adagrad<T>(learningRate: learningRate)
        case "adadelta": return try Adadelta<T>(learningRate: learningRate)
        default: throw OptimiserError.unknownOptimiser(name)
        }
    }
}

/// Throws unless `value` is finite and `valid` holds (PyTorch's constructor checks, plus
/// finiteness, which PyTorch lets through).
func requireHyperparameter(_ optimiser: String, _ name: String, _ value: Double, _ valid: Bool, _ requirement: String) throws {
    guard value.isFinite && valid else {
        throw OptimiserError.invalidHyperparameter(optimiser: optimiser, name: name, value: value, requirement: requirement)
    }
}

func checkLearningRate(_ value: Double) {
    precondition(value.isFinite && value >= 0, "learning rate \(value) must be finite and ≥ 0")
}

/// PyTorch's `lerp` (a + w·(b − a), from the other end for w ≥ ½), which its Adam, Adamax and
/// centred RMSprop use for running means.
@inline(__always)
func lerp<T: Real>(_ a: T, _ b: T, _ weight: T) -> T {
    weight < 0.5 ? a + weight * (b - a) : b - (b - a) * (1 - weight)
}

/// The step count and the named flat buffers of one optimiser, in one allocation.
final class StateBuffers<T: Real> {
    let algorithm: String
    let names: [String]
    private let initialValues: [T]
    private(set) var step = 0
    private(set) var count = 0
    private var allocated = false
    private var memory = UnsafeMutablePointer<T>.allocate(capacity: 1)

    /// `buffers`: each state name with the value PyTorch initialises it to.
    init(algorithm: String, buffers: [(name: String, initial: T)]) {
        self.algorithm = algorithm
        names = buffers.map(\.name)
        initialValues = buffers.map(\.initial)
    }

    deinit { memory.deallocate() }

    /// Counts one more step and returns its number (1 for the first), creating the buffers on
    /// the first step as PyTorch creates state lazily.
    func begin(count n: Int) -> Int {
        if !allocated {
            allocate(n)
            for k in names.indices { self[k].update(repeating: initialValues[k], count: n) }
        }
        precondition(n == count, "\(algorithm) state holds \(count) elements per buffer, the store has \(n)")
        step += 1
        return step
    }

    subscript(k: Int) -> UnsafeMutablePointer<T> { memory + k * count }

    func export() -> OptimiserState<T> {
        var buffers: [String: [T]] = [:]
        if allocated {
            for (k, name) in names.enumerated() { buffers[name] = Array(UnsafeBufferPointer(start: self[k], count: count)) }
        }
        return OptimiserState(algorithm: algorithm, step: step, buffers: buffers)
    }

    func load(_ state: OptimiserState<T>) throws {
        guard state.algorithm == algorithm else {
            throw OptimiserError.incompatibleState("state of \(state.algorithm), optimiser is \(algorithm)")
        }
        guard state.step >= 0 else { throw OptimiserError.incompatibleState("negative step count \(state.step)") }
        if state.step == 0 && state.buffers.isEmpty {
            allocated = false
            count = 0
            step = 0
            return
        }
        guard state.step > 0, Set(state.buffers.keys) == Set(names) else {
            throw OptimiserError.incompatibleState(
                "\(algorithm) at step \(state.step) with buffers [\(state.buffers.keys.sorted().joined(separator: ", "))], this configuration keeps [\(names.sorted().joined(separator: ", "))] after a step")
        }
        let n = state.buffers.values.first?.count ?? 0
        guard state.buffers.values.allSatisfy({ $0.count == n }) else {
            throw OptimiserError.incompatibleState("\(algorithm) buffers of different lengths")
        }
        allocate(n)
        for (k, name) in names.enumerated() where n > 0 {
            state.buffers[name]!.withUnsafeBufferPointer { self[k].update(from: $0.baseAddress!, count: n) }
        }
        // Without buffers the state says nothing about the store's size: take it at the next step.
        allocated = !names.isEmpty
        step = state.step
    }

    private func allocate(_ n: Int) {
        memory.deallocate()
        memory = .allocate(capacity: Swift.max(1, names.count * n))
        count = n
        allocated = true
    }
}

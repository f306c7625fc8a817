import DNCGPU
import DNCLayers
import DNCNumerics
import Foundation

/// An optimiser whose state lives on the device, stepping `DeviceParameters.values` with
/// `DeviceParameters.gradients` exactly as the CPU optimiser it was made from steps a
/// `ParameterStore` (SGD, Adam, Adamax, RMSprop, Adagrad, Adadelta: Sources/Layers/Optimisers),
/// so that a GPU rank's parameters stay those a CPU rank would have, and a checkpoint written by
/// one resumes on the other.
///
/// Each step is one element-wise kernel launch over the flat buffer (kernels/optimisers.cu); the
/// per-step scalars (bias corrections, step sizes) are computed here in Double, as the CPU
/// computes them, and rounded to `T`. The state is the CPU's: the same named buffers
/// ("exp_avg", …), each `parameters.store.count` long, one after the other in one allocation,
/// created at the first step (PyTorch's lazy state) and the same step counter.
public final class GPUOptimiser<T: Real> {
    /// The CPU optimiser's algorithm name ("adam", …).
    public let name: String
    /// May change between steps (schedules); must stay finite and non-negative.
    public var learningRate: Double {
        didSet { precondition(learningRate.isFinite && learningRate >= 0, "learning rate \(learningRate) must be finite and ≥ 0") }
    }
    public let parameters: DeviceParameters<T>
    /// Steps taken (the CPU's step count, imported ones included).
    public private(set) var stepCount = 0

    private let rule: Rule
    /// The state's buffer names in the CPU's order (slot k is state[k·n ..< (k+1)·n]).
    private let names: [String]
    /// names.count × n elements; meaningful once `hasState`.
    private let state: DeviceArray<T>
    /// Whether the state buffers hold a state (after a step or an imported non-empty state);
    /// before, the next step initialises them (the CPU's `allocated`).
    private var hasState = false
    private var device: any KernelDevice { parameters.device }
    private var count: Int { parameters.store.count }
    private static var threads: Int { 256 }

    /// The hyper-parameters of each algorithm, copied from the CPU optimiser.
    private enum Rule {
        case sgd(momentum: Double, dampening: Double, weightDecay: Double, nesterov: Bool)
        case adam(beta1: Double, beta2: Double, eps: Double, weightDecay: Double, amsgrad: Bool)
        case adamax(beta1: Double, beta2: Double, eps: Double, weightDecay: Double)
        case rmsprop(alpha: Double, eps: Double, weightDecay: Double, momentum: Double, centered: Bool)
        case adagrad(learningRateDecay: Double, weightDecay: Double, initialAccumulatorValue: Double, eps: Double)
        case adadelta(rho: Double, eps: Double, weightDecay: Double)

        /// The state buffers, in the CPU's order (each optimiser's StateBuffers).
        var names: [String] {
            switch self {
            case .sgd(let momentum, _, _, _): return momentum != 0 ? ["momentum_buffer"] : []
            case .adam(_, _, _, _, let amsgrad): return ["exp_avg", "exp_avg_sq"] + (amsgrad ? ["max_exp_avg_sq"] : [])
            case .adamax: return ["exp_avg", "exp_inf"]
            case .rmsprop(_, _, _, let momentum, let centered):
                return ["square_avg"] + (momentum > 0 ? ["momentum_buffer"] : []) + (centered ? ["grad_avg"] : [])
            case .adagrad: return ["sum"]
            case .adadelta: return ["square_avg", "acc_delta"]
            }
        }
    }

    /// Takes `cpu`'s algorithm, hyper-parameters, learning rate and current state (step count and
    /// buffers, if it has stepped or imported a state). Throws `OptimiserError.unknownOptimiser`
    /// for an optimiser class without a device version, and `OptimiserError.incompatibleState`
    /// when the CPU state's buffers are not `parameters.store.count` long.
    public init(_ cpu: any Optimiser<T>, parameters: DeviceParameters<T>) throws {
        switch cpu {
        case let o as SGD<T>: rule = .sgd(momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov)
        case let o as Adam<T>: rule = .adam(beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, amsgrad: o.amsgrad)
        case let o as Adamax<T>: rule = .adamax(beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay)
        case let o as RMSprop<T>:
            rule = .rmsprop(alpha: o.alpha, eps: o.eps, weightDecay: o.weightDecay, momentum: o.momentum, centered: o.centered)
        case let o as Adagrad<T>:
            rule = .adagrad(learningRateDecay: o.learningRateDecay, weightDecay: o.weightDecay,
                            initialAccumulatorValue: o.initialAccumulatorValue, eps: o.eps)
        case let o as Adadelta<T>: rule = .adadelta(rho: o.rho, eps: o.eps, weightDecay: o.weightDecay)
        default: throw OptimiserError.unknownOptimiser("\(cpu.name) (\(type(of: cpu)), no device version)")
        }
        name = cpu.name
        learningRate = cpu.learningRate
        self.parameters = parameters
        names = rule.names
        state = try parameters.device.zeros(T.self, count: names.count * parameters.store.count)
        try importState(cpu.exportState())
    }

    deinit { device.free(state) }

    private func buffer(_ name: String) -> DeviceArray<T> {
        guard let k = names.firstIndex(of: name) else { return parameters.values }  // unused: never touched
        return state.slice(k * count, count: count)
    }

    /// One update of `parameters.values` from `parameters.gradients` (read, not cleared): one
    /// kernel launch, queued.
    public func step() throws {
        stepCount += 1
        let t = Double(stepCount), initialise = hasState ? 0 : 1
        hasState = !names.isEmpty
        guard count > 0 else { return }
        let p = parameters.values.argument(), g = parameters.gradients.argument(), n = KernelArgument.int(count)
        let precision = KernelPrecision.of(T.self)
        func real(_ value: Double) -> KernelArgument { .real(T(value)) }
        func flag(_ value: Bool) -> KernelArgument { .int(value ? 1 : 0) }
        let kernel: String, arguments: [KernelArgument]
        switch rule {
        case .sgd(let momentum, let dampening, let weightDecay, let nesterov):
            kernel = "dnc_optimiser_sgd"
            arguments = [p, g, buffer("momentum_buffer").argument(), n, real(learningRate), real(weightDecay), flag(weightDecay != 0),
                         flag(momentum != 0), real(momentum), real(1 - dampening), flag(nesterov), flag(stepCount == 1)]
        case .adam(let beta1, let beta2, let eps, let weightDecay, let amsgrad):
            kernel = "dnc_optimiser_adam"
            arguments = [p, g, buffer("exp_avg").argument(), buffer("exp_avg_sq").argument(), buffer("max_exp_avg_sq").argument(), n,
                         real(learningRate / (1 - pow(beta1, t))), real(pow(1 - pow(beta2, t), 0.5)), real(1 - beta1), real(beta2),
                         real(1 - beta2), real(eps), real(weightDecay), flag(weightDecay != 0), flag(amsgrad), .int(initialise)]
        case .adamax(let beta1, let beta2, let eps, let weightDecay):
            kernel = "dnc_optimiser_adamax"
            arguments = [p, g, buffer("exp_avg").argument(), buffer("exp_inf").argument(), n, real(learningRate / (1 - pow(beta1, t))),
                         real(1 - beta1), real(beta2), real(eps), real(weightDecay), flag(weightDecay != 0), .int(initialise)]
        case .rmsprop(let alpha, let eps, let weightDecay, let momentum, let centered):
            kernel = "dnc_optimiser_rmsprop"
            arguments = [p, g, buffer("square_avg").argument(), buffer("momentum_buffer").argument(), buffer("grad_avg").argument(), n,
                         real(learningRate), real(alpha), real(1 - alpha), real(eps), real(momentum), real(weightDecay),
                         flag(weightDecay != 0), flag(momentum > 0), flag(centered), .int(initialise)]
        case .adagrad(let learningRateDecay, let weightDecay, let initialAccumulatorValue, let eps):
            kernel = "dnc_optimiser_adagrad"
            arguments = [p, g, buffer("sum").argument(), n, real(learningRate / (1 + (t - 1) * learningRateDecay)), real(eps),
                         real(weightDecay), flag(weightDecay != 0), real(initialAccumulatorValue), .int(initialise)]
        case .adadelta(let rho, let eps, let weightDecay):
            kernel = "dnc_optimiser_adadelta"
            arguments = [p, g, buffer("square_avg").argument(), buffer("acc_delta").argument(), n, real(learningRate), real(rho),
                         real(1 - rho), real(eps), real(weightDecay), flag(weightDecay != 0), .int(initialise)]
        }
        try device.launch(precision.kernelName(kernel), grid: ((count + Self.threads - 1) / Self.threads, 1), threads: Self.threads,
                          sharedBytes: 0, arguments)
    }

    /// The state as the CPU optimiser would export it after the same steps (downloads the buffers).
    public func exportState() throws -> OptimiserState<T> {
        var buffers: [String: [T]] = [:]
        if hasState {
            for name in names { buffers[name] = try device.download(buffer(name)) }
        }
        return OptimiserState(algorithm: name, step: stepCount, buffers: buffers)
    }

    /// Restores an exported state (the CPU's checks and messages, `OptimiserError.incompatibleState`);
    /// later steps continue as the CPU's would. Unlike the CPU, buffers of another length than the
    /// parameters are refused here rather than at the next step.
    public func importState(_ imported: OptimiserState<T>) throws {
        guard imported.algorithm == name else {
            throw OptimiserError.incompatibleState("state of \(imported.algorithm), optimiser is \(name)")
        }
        guard imported.step >= 0 else { throw OptimiserError.incompatibleState("negative step count \(imported.step)") }
        if imported.step == 0 && imported.buffers.isEmpty {
            stepCount = 0
            hasState = false
            return
        }
        guard imported.step > 0, Set(imported.buffers.keys) == Set(names) else {
            throw OptimiserError.incompatibleState(
                "\(name) at step \(imported.step) with buffers [\(imported.buffers.keys.sorted().joined(separator: ", "))], this configuration keeps [\(names.sorted().joined(separator: ", "))] after a step")
        }
        for (key, values) in imported.buffers where values.count != count {
            throw OptimiserError.incompatibleState("\(name) buffer \(key) holds \(values.count) elements, the parameters \(count)")
        }
        for name in names { try device.upload(imported.buffers[name]!, to: buffer(name)) }
        hasState = !names.isEmpty
        stepCount = imported.step
    }
}

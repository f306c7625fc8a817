import Foundation

/// The learning rate at each step: constant, step decay (× `decay` every `stepSize` steps) or
/// cosine annealing from the base rate to `minimum` over `totalSteps`.
public enum LearningRateSchedule: Hashable, Sendable {
    case constant(Double)
    case step(base: Double, stepSize: Int, decay: Double)
    case cosine(base: Double, minimum: Double, totalSteps: Int)

    public init(_ c: TrainingConfiguration) {
        switch c.lr_schedule {
        case .step: self = .step(base: c.lr, stepSize: c.lr_step, decay: c.lr_decay)
        case .cosine: self = .cosine(base: c.lr, minimum: c.lr_min, totalSteps: c.iterations)
        case .constant: self = .constant(c.lr)
        }
    }

    /// The rate for (0-based) step `step`.
    public func rate(at step: Int) -> Double {
        switch self {
        case .constant(let lr): return lr
        case .step(let base, let size, let decay): return base * pow(decay, Double(step / size))
        case .cosine(let base, let minimum, let total):
            let progress = Double(min(step, total)) / Double(max(total, 1))
            return minimum + (base - minimum) * 0.5 * (1 + cos(Double.pi * progress))
        }
    }
}

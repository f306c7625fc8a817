/// The switches where the Nature paper, DeepMind's code and pytorch-dnc disagree on the dense
/// memory (docs/dense-memory.md). `.paper` is the default; `.pytorchCompat` reproduces
/// pytorch-dnc (and its fixtures) exactly.
public struct MemoryOptions: Hashable, Sendable {
    /// How raw read/write strengths become positive.
    public enum StrengthActivation: Hashable, Sendable {
        /// `1 + softplus(x)`, range [1, ∞) (PAPER).
        case oneplus
        /// `softplus(x)`, range (0, ∞) (pytorch-dnc and DeepMind's code).
        case softplus
    }

    /// How the cosine similarity of content addressing guards against zero norms (docs/dense-memory.md).
    public enum CosineStyle: Hashable, Sendable {
        /// Norms `sqrt(Σx² + ε)` and `+ε` in the denominator: finite gradients at zero rows.
        case deepMind
        /// Plain Euclidean norms and `+ε` in the denominator only; the norm's gradient at 0 is 0.
        case pytorchDNC
    }

    public var strengthActivation: StrengthActivation
    /// `tanh` on the read keys, the write key and the write vector (pytorch-dnc only).
    public var squashKeysAndWriteVector: Bool
    /// DeepMind's code stops the gradient of the previous write weights inside the usage update.
    public var stopGradientThroughUsage: Bool
    public var cosineStyle: CosineStyle
    /// DNC-MD's masked lookup, de-allocation and link sharpness (all off: the DNC).
    public var improvements: MemoryImprovements

    public init(strengthActivation: StrengthActivation = .oneplus, squashKeysAndWriteVector: Bool = false,
                stopGradientThroughUsage: Bool = true, cosineStyle: CosineStyle = .deepMind,
                improvements: MemoryImprovements = .none) {
        self.strengthActivation = strengthActivation
        self.squashKeysAndWriteVector = squashKeysAndWriteVector
        self.stopGradientThroughUsage = stopGradientThroughUsage
        self.cosineStyle = cosineStyle
        self.improvements = improvements
    }

    /// Paper/DeepMind behaviour: oneplus strengths, linear keys, stop-gradient usage, DeepMind's cosine.
    public static let paper = MemoryOptions()

    /// pytorch-dnc 2.0.0b1: softplus strengths, tanh keys and write vector, gradient through the
    /// usage, plain-norm cosine. Needed for fixture parity.
    public static let pytorchCompat = MemoryOptions(strengthActivation: .softplus, squashKeysAndWriteVector: true,
                                                    stopGradientThroughUsage: false, cosineStyle: .pytorchDNC)
}

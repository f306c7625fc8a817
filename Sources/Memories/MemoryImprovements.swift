/// The three changes of DNC-MD (Csordás & Schmidhuber 2019, "Improving Differentiable Neural
/// Computers Through Memory Masking, De-allocation, and Link Distribution Sharpness Control",
/// ICLR 2019) to the dense memory, each a switch, all off by default (docs/dense-memory.md,
/// "DNC-MD options"). With all three off the memory is exactly the DNC's: the same interface
/// vector, the same arithmetic, the same checkpoints. Dense memory only (SAM and the SDNC
/// address their memory differently).
public struct MemoryImprovements: Hashable, Sendable {
    /// Masked content lookup (paper §3.1): each read head and the write head emit a mask
    /// m = σ(m̂) ∈ (0, 1)^W and content addressing compares k ⊙ m with M[i] ⊙ m, so that part of
    /// a word can serve as the key and the rest as the value. Adds (R + 1)·W interface entries.
    public var maskedContentLookup: Bool
    /// De-allocation (paper §3.2): the rows of M are scaled by the retention ψ_t when the step
    /// writes, so freed cells are also erased (M_t = M_{t−1} ⊙ ψ_t 1ᵀ ⊙ (E − w^w eᵀ) + w^w vᵀ).
    /// No interface entries.
    public var deallocation: Bool
    /// Link distribution sharpness control (paper §3.3): the forward and backward weightings
    /// L w^r and Lᵀ w^r are sharpened, S(d, s)_j = d_j^s / Σ_k d_k^s, with a sharpness
    /// s = oneplus(ŝ) per read head and direction. Adds 2R interface entries.
    public var linkSharpness: Bool

    public init(maskedContentLookup: Bool = false, deallocation: Bool = false, linkSharpness: Bool = false) {
        self.maskedContentLookup = maskedContentLookup
        self.deallocation = deallocation
        self.linkSharpness = linkSharpness
    }

    /// The DNC: none of the three.
    public static let none = MemoryImprovements()
    /// DNC-MD: all three (the paper's "DNC-MDS").
    public static let all = MemoryImprovements(maskedContentLookup: true, deallocation: true, linkSharpness: true)

    /// Whether any of the three is on.
    public var isAnyOn: Bool { maskedContentLookup || deallocation || linkSharpness }

    /// Each switch on in either.
    public func union(_ other: MemoryImprovements) -> MemoryImprovements {
        MemoryImprovements(maskedContentLookup: maskedContentLookup || other.maskedContentLookup,
                           deallocation: deallocation || other.deallocation,
                           linkSharpness: linkSharpness || other.linkSharpness)
    }
}

import DNCNumerics

/// What a dense memory's forward keeps for its backward: one record per step in one growing
/// buffer of reals plus one of integers (the free-list permutations and the active flags), so a
/// warm tape allocates nothing per step. Layout of a record: `DenseRecordLayout`.
///
/// A tape records one batch size and one memory configuration per sequence; call `reset()`
/// between sequences. Not thread-safe: one tape per sequence in flight.
public final class DenseMemoryTape<T: Real>: @unchecked Sendable {
    public private(set) var steps = 0
    private(set) var batch = 0
    private(set) var recordSize = 0
    private(set) var integerRecordSize = 0
    /// Identity of the memory that recorded (a tape cannot be shared between memories).
    private(set) weak var owner: AnyObject?
    private var capacity = 0
    private var integerCapacity = 0
    private var buffer: UnsafeMutablePointer<T>
    private var integers: UnsafeMutablePointer<Int>
    /// L before every `linkInterval`-th step (B×N² each); the links in between are recomputed.
    private var snapshots: UnsafeMutablePointer<T>
    private var snapshotCapacity = 0
    private(set) var snapshotSize = 0
    /// Changes whenever the records are forgotten, so that caches of recomputed links
    /// (`DenseLinkCache`) notice a tape recorded anew.
    private(set) var epoch = 0

    /// Steps from one link snapshot to the next (set by the first record).
    private(set) var linkInterval = 1

    /// The snapshot interval for N cells. Keeping L_{t−1} for every step made the link 64% of
    /// dnc-paper's tape (N = 64), and the tape's traffic (written by the forward, read back by
    /// the backward, beyond L2) a tenth of its training step; every 4th step, with the three
    /// links in between recomputed in cache, saves 2% there and 7% at N = 256. Below 32 cells
    /// the link is too small for that to pay, and every step keeps it.
    static func linkInterval(cells: Int) -> Int { cells >= 32 ? 4 : 1 }

    public init() {
        buffer = .allocate(capacity: 1)
        integers = .allocate(capacity: 1)
        snapshots = .allocate(capacity: 1)
    }

    deinit {
        buffer.deallocate()
        integers.deallocate()
        snapshots.deallocate()
    }

    /// Records the next sequence is expected to hold (a hint: the first growth then allocates
    /// room for all of them at once instead of doubling, which copies and peaks at twice the size).
    private var expectedRecords = 0

    /// Forgets every record (their memory is reused).
    public func reset() {
        steps = 0
        epoch &+= 1
    }

    /// Forgets every record and sizes the next growth for `records` records (see `reset()`).
    public func reset(expectingRecords records: Int) {
        reset()
        expectedRecords = records
    }

    /// Appends an uninitialised record and returns its two parts. The buffer keeps one record
    /// before the first, `record(-1)`, for the state before the sequence (its memory, read
    /// weights, write weights and usage sections; see `DenseRecordLayout`).
    func appendRecord(owner: AnyObject, batch: Int, recordSize: Int, integerRecordSize: Int, linkSnapshotSize: Int,
                      linkInterval: Int)
        -> (reals: UnsafeMutablePointer<T>, integers: UnsafeMutablePointer<Int>) {
        if steps == 0 {
            self.owner = owner
            self.batch = batch
            self.recordSize = recordSize
            self.integerRecordSize = integerRecordSize
            snapshotSize = linkSnapshotSize
            self.linkInterval = linkInterval
        }
        if steps % self.linkInterval == 0 {
            let needed = (steps / self.linkInterval + 1) * snapshotSize
            if needed > snapshotCapacity {
                let expected = (expectedRecords + self.linkInterval - 1) / self.linkInterval * snapshotSize
                let newCapacity = Swift.max(needed, snapshotCapacity * 2, expected)
                let fresh = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
                fresh.moveInitialize(from: snapshots, count: steps / self.linkInterval * snapshotSize)
                snapshots.deallocate()
                snapshots = fresh
                snapshotCapacity = newCapacity
            }
        }
        precondition(owner === self.owner && batch == self.batch && recordSize == self.recordSize,
                     "a tape records one memory and one batch size per sequence; call reset() between sequences")
        let needed = (steps + 2) * recordSize
        if needed > capacity {
            let newCapacity = Swift.max(needed, capacity * 2, (expectedRecords + 1) * recordSize)
            let fresh = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
            // Records −1 ..< steps hold data once a step is recorded; before that, nothing does.
            fresh.moveInitialize(from: buffer, count: steps == 0 ? 0 : (steps + 1) * recordSize)
            buffer.deallocate()
            buffer = fresh
            capacity = newCapacity
        }
        let neededIntegers = (steps + 1) * integerRecordSize
        if neededIntegers > integerCapacity {
            let newCapacity = Swift.max(neededIntegers, integerCapacity * 2, expectedRecords * integerRecordSize)
            let fresh = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity)
            fresh.moveInitialize(from: integers, count: steps * integerRecordSize)
            integers.deallocate()
            integers = fresh
            integerCapacity = newCapacity
        }
        steps += 1
        return (buffer + steps * recordSize, integers + (steps - 1) * integerRecordSize)
    }

    func record(_ step: Int) -> (reals: UnsafeMutablePointer<T>, integers: UnsafeMutablePointer<Int>) {
        precondition(step >= 0 && step < steps, "step \(step) is not on the tape (\(steps) steps)")
        return (buffer + (step + 1) * recordSize, integers + step * integerRecordSize)
    }

    /// L before step `segment·linkInterval` (B×N², sample-major), written by that step.
    func linkSnapshot(_ segment: Int) -> UnsafeMutablePointer<T> {
        precondition(segment >= 0 && segment * linkInterval < steps, "no link snapshot \(segment) on the tape")
        return snapshots + segment * snapshotSize
    }

    /// The reals of the record before `step`: the previous step's, or for step 0 the state
    /// before the sequence. Its memory, readWeights, writeWeights and usage sections are the
    /// state the step started from.
    func previousRecord(_ step: Int) -> UnsafeMutablePointer<T> {
        precondition(step >= 0 && step < steps, "step \(step) is not on the tape (\(steps) steps)")
        return buffer + step * recordSize
    }
}

/// Offsets of the sections of one step's record (reals). Every section holds the whole batch,
/// sample-major: sample b's part of a section of per-sample size s starts at `offset + b·s`.
/// Sizes per sample (I input, S interface, N cells, W width, R heads):
///
/// | section | per sample | what |
/// |---|---|---|
/// | input | I | controller output fed to the interface layer (0 for inactive samples) |
/// | raw | S | ẑ, interface pre-activations |
/// | interface | S | ξ, activated interface |
/// | previousPrecedence | N | p_{t−1} |
/// | retention, usage | N | ψ, u_t |
/// | writeNorms, writeCosine, writeContent | N | norms of M_{t−1} rows, cos, c^w |
/// | writeKeyNorm | 1 | ‖k^w‖ |
/// | sortedUsage, prefix, allocation | N | x, P, a (docs/dense-memory.md, Allocation) |
/// | writeWeights | N | w^w_t |
/// | memory | N·W | M_t |
/// | readNorms | N | norms of M_t rows |
/// | readKeyNorms | R | ‖k^r_i‖ |
/// | readCosine, readContent, forward, backward, readWeights | R·N | cos, c^r, f, b, w^r_t |
/// | rawForward, rawBackward | R·N, or 0 | L w^r and Lᵀ w^r before DNC-MD's sharpening (f and b are then the sharpened ones) |
///
/// With DNC-MD's masked lookup, writeNorms and readNorms are not used (the backward rebuilds the
/// masked rows and their norms) and the key norms are those of the masked keys.
/// M_t, w^r_t, w^w_t and u_t of an inactive sample are copies of the previous ones. The state
/// before a step is not copied again: M_{t−1}, w^r_{t−1}, w^w_{t−1} and u_{t−1} are the previous
/// record's sections (`DenseMemoryTape.previousRecord`), so the steps on one tape must follow
/// each other. The link is kept only before every `linkInterval`-th step (the
/// tape's link snapshots), and p_t not at all: the backward and the debug record recompute
/// L_t from L_{t−1}, p_{t−1} and w^w_t (`DenseLinkCache`, O(N²) per step). Integer record: the
/// free-list order φ (B·N), then one active flag per sample (B).
struct DenseRecordLayout {
    let batch: Int
    var input = 0, raw = 0, interface = 0
    var previousPrecedence = 0
    var retention = 0, usage = 0
    var writeNorms = 0, writeCosine = 0, writeContent = 0, writeKeyNorm = 0
    var sortedUsage = 0, prefix = 0, allocation = 0, writeWeights = 0
    var memory = 0, readNorms = 0, readKeyNorms = 0
    var readCosine = 0, readContent = 0, forward = 0, backward = 0, readWeights = 0
    var rawForward = 0, rawBackward = 0
    var size = 0
    /// Integer record: order at 0 (B·N), active flags at `activeFlags` (B).
    let activeFlags: Int
    let integerSize: Int

    init(batch b: Int, inputSize i: Int, interfaceSize s: Int, cells n: Int, width w: Int, readHeads r: Int,
         keepsRawDirectional: Bool = false) {
        batch = b
        var offset = 0
        func take(_ perSample: Int) -> Int { defer { offset += b * perSample }; return offset }
        input = take(i); raw = take(s); interface = take(s)
        previousPrecedence = take(n)
        retention = take(n); usage = take(n)
        writeNorms = take(n); writeCosine = take(n); writeContent = take(n); writeKeyNorm = take(1)
        sortedUsage = take(n); prefix = take(n); allocation = take(n); writeWeights = take(n)
        memory = take(n * w); readNorms = take(n); readKeyNorms = take(r)
        readCosine = take(r * n); readContent = take(r * n); forward = take(r * n); backward = take(r * n)
        readWeights = take(r * n)
        rawForward = take(keepsRawDirectional ? r * n : 0); rawBackward = take(keepsRawDirectional ? r * n : 0)
        size = offset
        activeFlags = b * n
        integerSize = b * n + b
    }
}

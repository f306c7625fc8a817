import Foundation

/// The collective operations data-parallel training needs. One process is a world of one; the
/// MPI implementation sums over ranks. Everything the trainer reduces goes through here, so a
/// run means the same experiment at any process count.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// In-place sum over all processes.
    func sumInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    func sumInPlace(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    /// Copies process 0's buffer to every process.
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    func barrier()
    /// Element-wise maximum and minimum over processes.
    func extremes(_ values: [Double]) -> (maximum: [Double], minimum: [Double])
}

extension Communicator {
    /// This process's share of a global batch: a contiguous range of global sample indices,
    /// sizes differing by at most one.
    public func share(ofGlobalBatch batch: Int) -> Range<Int> {
        let base = batch / size, extra = batch % size
        let start = rank * base + Swift.min(rank, extra)
        return start ..< start + base + (rank < extra ? 1 : 0)
    }
}

/// A single process: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sumInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func sumInPlace(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func barrier() {}
    public func extremes(_ values: [Double]) -> (maximum: [Double], minimum: [Double]) { (values, values) }
}

/// How this process was started.
public enum LaunchEnvironment {
    /// Started by an MPI launcher (mpirun/mpiexec, or srun with PMIx).
    public static var isUnderMPILauncher: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains { environment[$0] != nil }
    }
}

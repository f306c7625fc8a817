import CDNCShim
import DNCTraining
import Foundation

/// The trainer's collectives over MPI (through the C shim), for processes started by `mpirun`
/// or `srun`. A process started without a launcher uses `SingleProcess` instead and never
/// initialises MPI.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// This rank's place among the ranks on its node, and their number: what picks its GPU
    /// (DeviceSelection).
    public let localRank: Int
    public let localSize: Int

    /// Initialises MPI (once per process) and finds the ranks sharing this node (collective).
    /// Throws with MPI's message when it cannot.
    public init() throws {
        let code = dnc_mpi_init()
        guard code == 0 else { throw DistributionError("MPI could not start: \(MPICommunicator.message(code))") }
        rank = Int(dnc_mpi_rank())
        size = Int(dnc_mpi_size())
        var local: Int32 = 0, localCount: Int32 = 1
        let split = dnc_mpi_node_local_rank(&local, &localCount)
        guard split == 0 else { throw DistributionError("MPI could not find the ranks on this node: \(MPICommunicator.message(split))") }
        localRank = Int(local)
        localSize = Int(localCount)
    }

    public func sumInPlace(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        check(dnc_mpi_allreduce_sum_f32(buffer, Int64(count)), "allreduce of \(count) floats")
    }

    public func sumInPlace(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        check(dnc_mpi_allreduce_sum_f64(buffer, Int64(count)), "allreduce of \(count) doubles")
    }

    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        check(dnc_mpi_bcast_f32(buffer, Int64(count), 0), "broadcast of \(count) floats")
    }

    public func barrier() { check(dnc_mpi_barrier(), "barrier") }

    /// Element-wise maximum and minimum over processes (for replica checks).
    public func extremes(_ values: [Double]) -> (maximum: [Double], minimum: [Double]) {
        var maximum = values, minimum = values
        check(dnc_mpi_allreduce_max_f64(&maximum, Int64(values.count)), "allreduce max")
        check(dnc_mpi_allreduce_min_f64(&minimum, Int64(values.count)), "allreduce min")
        return (maximum, minimum)
    }

    public func finalize() { _ = dnc_mpi_finalize() }

    /// Seconds since an arbitrary origin, MPI's clock.
    public static var wallTime: Double { dnc_mpi_wtime() }

    /// A failed collective leaves the job in an unknown state: end every rank now, with the reason.
    private func check(_ code: Int32, _ what: String) {
        guard code != 0 else { return }
        Self.abort(message: "rank \(rank): MPI \(what) failed: \(Self.message(code))", code: 1)
    }

    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        _ = dnc_mpi_error_string(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Prints the message and ends the whole job (every rank) with `code`.
    public static func abort(message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        if dnc_mpi_initialized() != 0 { _ = dnc_mpi_abort(code) }
        exit(code)
    }
}

/// Whether this process was started by an MPI launcher (mpirun/mpiexec or srun with PMIx).
public enum Launcher {
    public static var isPresent: Bool { LaunchEnvironment.isUnderMPILauncher }

    /// The communicator for this process: MPI under a launcher, a world of one otherwise.
    public static func communicator() throws -> Communicator {
        let communicator: Communicator = isPresent ? try MPICommunicator() : SingleProcess()
        MPIState.communicator = communicator
        return communicator
    }
}

public struct DistributionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The process's communicator once a command made one, for error handling at the top level.
public enum MPIState {
    nonisolated(unsafe) public static var communicator: Communicator?
    public static var isMultiProcess: Bool { (communicator?.size ?? 1) > 1 }
}

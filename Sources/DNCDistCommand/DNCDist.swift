import ArgumentParser
import DNCNumerics
import DNCStorage
import DNCTraining
import DNCDistribution
import Foundation

/// `dnc-dist`: trains memory-augmented networks, alone or data-parallel under MPI.
@main
struct DNCDist: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dnc-dist",
        abstract: "Train memory-augmented neural networks (DNC, SAM, SDNC).",
        discussion: """
        BLAS kernels are chosen automatically for this CPU (see `dnc-dist diagnostics`); \
        set DNC_BLAS_CORE=<name>|auto|default or OPENBLAS_CORETYPE to override, and \
        OPENBLAS_NUM_THREADS to change the default of one BLAS thread per process.
        """,
        subcommands: [Train.self, Eval.self, Inspect.self, Report.self, Diagnostics.self])

    @Flag(name: .long, help: "Print the version and the BLAS kernels in use, then exit.")
    var version = false

    func run() throws {
        if version {
            print("dnc-dist \(Self.version)")
            print("BLAS: \(BLASRuntime.summary)")
            return
        }
        throw CleanExit.helpRequest(self)
    }

    static func main() {
        // Before anything touches BLAS: may re-execute this program with better kernels.
        BLASRuntime.relaunchWithBestKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withDocumentedCode: error)
        }
    }

    /// Help, version and explicit exit codes (the requeue code) pass through; a run that
    /// failed while training exits 1; everything else is bad input: one line on stderr, exit 2.
    static func exit(withDocumentedCode error: Error) -> Never {
        if let code = error as? ExitCode, code != .success, MPIState.isMultiProcess {
            // The requeue code after a consistent stop: every rank exits with it on its own.
            (MPIState.communicator as? MPICommunicator)?.finalize()
            exit(withError: error)
        }
        if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
        var message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
        let code: Int32 = error is TrainingFailure ? 1 : 2
        if MPIState.isMultiProcess {
            // One rank's error ends the whole job promptly, never a hang in a collective.
            MPICommunicator.abort(message: "rank \(MPIState.communicator!.rank): \(message)", code: code)
        }
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        // Not exit(3): HDF5's atexit shutdown crashes on a file whose write failed (disk full).
        HDF5Process.exit(code)
    }
}

struct Diagnostics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the numeric back end this process uses.")

    func run() throws {
        print("dnc-dist \(DNCDist.version)")
        print("BLAS: \(BLASRuntime.summary)")
        let flags = BLASRuntime.cpuFlags()
        print("CPU: best known kernels \(BLASRuntime.bestCore(flags: flags) ?? "none"), "
              + "AVX-512 \(flags.contains("avx512f") ? "yes" : "no"), AVX2 \(flags.contains("avx2") ? "yes" : "no")")
        print("GPU: none (this build has the CPU back end only)")
    }
}

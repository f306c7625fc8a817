import ArgumentParser
import DNCMemories
import DNCNumerics
import DNCStorage
import DNCTraining
import DNCDistribution
import DNCGPU
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
        OPENBLAS_NUM_THREADS to change the default of one BLAS thread per process. \
        Small matrix products run in libxsmm JIT kernels; DNC_SMALL_GEMM=auto|libxsmm|openblas \
        forces a library.
        """,
        subcommands: [Train.self, Eval.self, Predict.self, Inspect.self, Report.self, Serve.self, Diagnostics.self, GPUCheck.self])

    @Flag(name: .long, help: "Print the version and the BLAS and product kernels in use, then exit.")
    var version = false

    func run() throws {
        if version {
            print("dnc-dist \(Self.version)")
            print("BLAS: \(BLASRuntime.summary)")
            print("Products: \(ProductPath.summary)")
            print("Approximate index scan: \(ApproximateIndexScan.summary)")
            print("Subnormals: \(SubnormalFlushing.summary)")
            return
        }
        throw CleanExit.helpRequest(self)
    }

    static func main() {
        // Before anything touches BLAS: may re-execute this program with better kernels.
        BLASRuntime.relaunchWithBestKernelsIfNeeded()
        // This thread trains: subnormals flushed unless DNC_SUBNORMALS=keep (see SubnormalFlushing).
        SubnormalFlushing.applyConfigured()
        do {
            let arguments = Array(CommandLine.arguments.dropFirst())
            try refuseUnknownTask(arguments)
            var command = try parseAsRoot(normalised(arguments))
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
        var message = fileSystemMessage(for: error) ?? oneLine(fullMessage(for: error))
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

extension DNCDist {
    /// The tasks `dnc-dist train` knows, as its subcommands spell them.
    static var taskNames: [String] { Train.configuration.subcommands.map { $0._commandName } }

    /// `dnc-dist train reverse …`: one line naming the task and the accepted ones (the argument
    /// parser would print the help and exit 0 when flags follow an unknown subcommand).
    static func refuseUnknownTask(_ arguments: [String]) throws {
        guard arguments.count >= 2, arguments[0] == "train", arguments[1] != "help",
              !["-h", "--help", "-help"].contains(arguments[1]), !taskNames.contains(arguments[1]) else { return }
        let accepted = taskNames.joined(separator: ", ")
        if arguments[1].hasPrefix("-") {
            throw ValidationError("no task before '\(arguments[1])': dnc-dist train <task> [options], the task one of \(accepted)")
        }
        throw ValidationError("unknown task '\(arguments[1])' (accepted: \(accepted))")
    }

    /// pytorch-dnc's single-dash long flags as double-dash ones (every such flag has both
    /// spellings), and `-mem_slot -1` as `--mem_slot=-1`: a negative number after an option is
    /// its value, so that validation names the flag and the range instead of the parser
    /// reporting a missing value; and a single-dash word is never read as a group of one-letter
    /// flags (after an empty value, `-nhid` was `-n -h -i -d`: the help, exit 0).
    static func normalised(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var i = 0
        while i < arguments.count {
            var argument = arguments[i]
            if argument == "--" { result += arguments[i...]; break }
            let name = argument.drop { $0 == "-" }
            let isOption = argument.hasPrefix("-") && name.count > 1 && Double(argument) == nil
            if isOption && !argument.hasPrefix("--") { argument = "-" + argument }
            if isOption, !name.contains("="), i + 1 < arguments.count, arguments[i + 1].hasPrefix("-"), Double(arguments[i + 1]) != nil {
                result.append("\(argument)=\(arguments[i + 1])")
                i += 2
            } else {
                result.append(argument)
                i += 1
            }
        }
        return result
    }

    /// The parser's message on one line: a list of accepted values that it puts on lines of
    /// their own ("Please provide one of the following:\n  - adam\n  - adamax…") is joined.
    static func oneLine(_ message: String) -> String {
        let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard var first = lines.first else { return message }
        if first.hasSuffix(":") {
            let items = lines.dropFirst().prefix { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
            if !items.isEmpty { first += " " + items.joined(separator: ", ") }
        }
        return first
    }

    /// A file-system error (Foundation's `Error Domain=NSCocoaErrorDomain … UserInfo={…}` dump)
    /// as one line: the file and the reason. Nil for other errors.
    static func fileSystemMessage(for error: Error) -> String? {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var reason: String
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(underlying.code)))
        } else if ns.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(ns.code)))
        } else {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = "No such file or directory"
            case .fileWriteNoPermission, .fileReadNoPermission: reason = "Permission denied"
            case .fileWriteOutOfSpace: reason = "No space left on device"
            case .fileWriteFileExists: reason = "File exists"
            case .fileWriteVolumeReadOnly: reason = "Read-only file system"
            default: reason = "file-system error \(ns.code)"
            }
        }
        return path.map { "'\($0)': \(reason)" } ?? reason
    }
}

struct Diagnostics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the numeric back end this process uses, and the GPUs, CUDA driver and NVRTC it finds.")

    func run() throws {
        print("dnc-dist \(DNCDist.version)")
        print("BLAS: \(BLASRuntime.summary)")
        print("Products: \(ProductPath.summary)")
        print("Approximate index scan: \(ApproximateIndexScan.summary)")
        print("Subnormals: \(SubnormalFlushing.summary)")
        let flags = BLASRuntime.cpuFlags()
        print("CPU: best known kernels \(BLASRuntime.bestCore(flags: flags) ?? "none"), "
              + "AVX-512 \(flags.contains("avx512f") ? "yes" : "no"), AVX2 \(flags.contains("avx2") ? "yes" : "no")")
        // The driver and NVRTC are opened at run time: on a machine without them these lines say why.
        for line in GPUReport.current(environment: ProcessInfo.processInfo.environment) { print(line) }
    }
}

import ArgumentParser
import DNCNumerics
import Foundation

/// pytorch-dnc timed on this machine, in the same run as our DNC (issue #16: "side by side with
/// pytorch-dnc in one run, one thread"): `scripts/pytorch-dnc-bench.py` in a Python that has
/// torch and pytorch-dnc, one child process per configuration and round, interleaved with ours so
/// that a drift of the machine's speed touches both alike.
struct PyTorchDNCBench: Sendable {
    /// The Python to run the script with.
    let python: String
    /// `scripts/pytorch-dnc-bench.py`, or where the user put it.
    let script: String

    /// The script's default location: relative to the current directory, as one runs dnc-bench
    /// from the repository root (the built binary does not know where the sources are).
    static let defaultScript = "scripts/pytorch-dnc-bench.py"

    /// Checks, before any work, that the Python runs, the script exists and torch and dnc import;
    /// throws a one-line `ValidationError` naming the flag and its value otherwise.
    /// Returns the checked bench, with the Python's path resolved through PATH for a bare name.
    static func checked(python given: String, script: String) throws -> PyTorchDNCBench {
        guard let python = executablePath(given) else {
            throw ValidationError("--pytorch '\(given)' is not an executable file (a Python with torch and pytorch-dnc, e.g. .build/torch-venv/bin/python)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: script, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ValidationError("--pytorch-script '\(script)' is not a file (scripts/pytorch-dnc-bench.py of this repository: run from its root, or give the path)")
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import torch, dnc"]
        let errors = Pipe()
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = errors
        do { try probe.run() } catch {
            throw ValidationError("--pytorch '\(given)' could not be started: \(error.localizedDescription)")
        }
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            // Python's last line says what is missing (e.g. "ModuleNotFoundError: No module named 'torch'").
            let reason = String(decoding: stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "exit status \(probe.terminationStatus)"
            throw ValidationError("--pytorch '\(given)' cannot import torch and dnc (pytorch-dnc, PyPI dnc 1.1.0): \(reason)")
        }
        return PyTorchDNCBench(python: python, script: script)
    }

    /// `path` when it names an executable file; a bare name (no slash) is looked up in PATH, as a shell would.
    static func executablePath(_ path: String) -> String? {
        let files = FileManager.default
        func isExecutableFile(_ candidate: String) -> Bool {
            var isDirectory: ObjCBool = false
            return files.fileExists(atPath: candidate, isDirectory: &isDirectory) && !isDirectory.boolValue
                && files.isExecutableFile(atPath: candidate)
        }
        if path.contains("/") { return isExecutableFile(path) ? path : nil }
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return directories.map { "\($0)/\(path)" }.first(where: isExecutableFile)
    }

    /// One child process: pytorch-dnc's training step of `configuration`, `repeats` timed steps.
    /// Returns the script's JSON result (median_ms, min_ms, max_ms, torch_version, dnc_version, threads, …).
    func measure(_ configuration: DNCBenchConfiguration, repeats: Int) throws -> [String: Any] {
        let result = try runForJSONResult(executable: python, arguments: [script] + configuration.pytorchScriptArguments(repeats: repeats))
        guard result.status == 0, let object = result.object, ["median_ms", "min_ms", "max_ms"].allSatisfy({ object[$0] is Double }) else {
            throw ValidationError("pytorch-dnc benchmark \(configuration.name) failed (exit status \(result.status))")
        }
        return object
    }
}

extension DNCBenchConfiguration {
    /// The script's flags for this configuration: the dimensions come from this table only.
    func pytorchScriptArguments(repeats: Int) -> [String] {
        ["--name", name, "--hidden", "\(hiddenSize)", "--controller-depth", "\(controllerDepth)", "--cells", "\(cells)",
         "--width", "\(width)", "--read-heads", "\(readHeads)", "--batch", "\(batch)", "--copy-length", "\(copyLength)",
         "--repeats", "\(repeats)"]
    }
}

/// Under which `OPENBLAS_CORETYPE` our child process runs (`--coretypes`): issue #16's targets
/// hold "with OPENBLAS_CORETYPE set or unset".
enum OpenBLASCoreTypeChoice: Equatable, Sendable {
    /// This process's environment as it is (what dnc-bench did before `--coretypes`).
    case inherited
    /// No `OPENBLAS_CORETYPE`: the child chooses its kernels itself, as a user's run would.
    case unset
    /// `OPENBLAS_CORETYPE` set to this core name.
    case named(String)

    /// `openblas_coretype` in the JSON and the table: the name, "unset" or "inherited".
    var label: String {
        switch self {
        case .inherited: return "inherited"
        case .unset: return "unset"
        case .named(let core): return core
        }
    }

    /// The variables by which BLASRuntime settles the kernels. A dnc-bench that re-executed itself
    /// (`relaunchWithBestKernelsIfNeeded`) carries its choice in them, and a child that finds
    /// `DNC_BLAS_RELAUNCHED` keeps the kernels it was started with, so a choice clears them all.
    static let kernelChoiceVariables = ["OPENBLAS_CORETYPE", "DNC_BLAS_CORE", "DNC_BLAS_RELAUNCHED", "DNC_BLAS_REASON"]

    /// The child's whole environment, or nil to inherit this process's.
    func childEnvironment(from base: [String: String]) -> [String: String]? {
        guard self != .inherited else { return nil }
        var environment = base
        for variable in Self.kernelChoiceVariables { environment[variable] = nil }
        if case .named(let core) = self { environment["OPENBLAS_CORETYPE"] = core }
        return environment
    }

    /// Parses `--coretypes` ("unset,Haswell"): `unset`, or core names of letters and digits that this
    /// CPU can run (where BLASRuntime knows the core's features), each once.
    static func parseList(_ text: String, cpuFlags: Set<String>) throws -> [OpenBLASCoreTypeChoice] {
        let accepted = "a comma-separated list of 'unset' and OpenBLAS core names (letters and digits), e.g. unset,Haswell"
        var choices: [OpenBLASCoreTypeChoice] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard !item.isEmpty, item.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw ValidationError("--coretypes '\(text)': '\(item)' is not a core name; expected \(accepted)")
            }
            if let reason = BLASRuntime.unsupportedReason(core: item, flags: cpuFlags) {
                throw ValidationError("--coretypes '\(text)': \(reason)")
            }
            let choice: OpenBLASCoreTypeChoice = item.lowercased() == "unset" ? .unset : .named(item)
            guard !choices.contains(where: { $0.label.lowercased() == choice.label.lowercased() }) else {
                throw ValidationError("--coretypes '\(text)' lists '\(item)' twice")
            }
            choices.append(choice)
        }
        return choices
    }
}

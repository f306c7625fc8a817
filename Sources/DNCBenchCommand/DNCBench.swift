import ArgumentParser
import DNCLayers
import DNCNumerics
import Foundation

/// `dnc-bench`: throughput of the numeric core, reported next to the BLAS peak measured on the
/// spot, so a figure is always read against what this machine can do.
@main
struct DNCBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnc-bench",
        abstract: "Measure training throughput: the controller against the sgemm peak, and the DNC configurations.",
        discussion: """
        Benchmarks: 'controller' (forward+backward of a recurrent stack, with the GFLOP/s achieved next to \
        the sgemm peak measured on the spot), the DNC training steps \
        \(DNCBenchConfiguration.all.map(\.name).joined(separator: ", ")) and their roofline (per product class \
        the share of a step and the GFLOP/s against a cache-resident peak measured on the spot). Each runs in \
        its own process so that its peak memory is its own. --json prints one JSON object per line.

        The DNC configurations' speed-up is against pytorch-dnc: by default reference figures measured \
        on another machine; with --pytorch PYTHON, pytorch-dnc's step timed here by \
        \(PyTorchDNCBench.defaultScript), interleaved with ours (issue #16: side by side, one run, one \
        thread), e.g. dnc-bench --only dnc-small --pytorch .build/torch-venv/bin/python --coretypes unset,Haswell --rounds 3.
        """)

    @Option(help: "Run only this benchmark (controller, \(DNCBenchConfiguration.all.map(\.name).joined(separator: ", ")), scaling, sam or sdnc: the SAM or SDNC table, or one row of it such as sam-100000-exact-b4, sam-full: SAM and SDNC steps on full memories (rows such as sdnc-full-1000000-approximate-b1), index: the nearest-neighbour indexes on full memories, products: the step's product shapes in OpenBLAS and in libxsmm, roofline: per product class of each DNC configuration's training step the time share and GFLOP/s against a cache-resident peak measured on the spot, or one configuration's such as roofline-dnc-small; gpu, or gpu-<configuration> such as gpu-dnc-paper: the GPU rank's training step, with --device, --emulated, --gpu-cpu).")
    var only: String?

    @Option(help: "With --only index: also write each dataset to this folder for scripts/index-compare/flann-bench.sh.")
    var dump: String?

    @Option(help: "With --only index: lists probed per query by the approximate index (default: the index's default).")
    var probes: Int?

    @Option(help: "With --only index: only memories of this many rows (10000, 100000 or 1000000), only Gaussian rows unless --clustered.")
    var rows: Int?

    @Flag(help: "With --only index --rows N: clustered rows instead of Gaussian ones.")
    var clustered = false

    @Option(help: "With --only gpu…: the GPU (a CUDA ordinal, after CUDA_VISIBLE_DEVICES).")
    var device = 0

    @Flag(help: "With --only gpu…: run the kernels through their CPU emulation instead of a GPU (checks the path; not a speed).")
    var emulated = false

    @Flag(name: .customLong("gpu-cpu"), help: "With --only gpu…: also time the CPU rank on each configuration.")
    var gpuCPU = false

    @Option(help: "Controller cell: lstm, gru or rnn.") var cell = "lstm"
    @Option(help: "Hidden size H.") var hidden = 256
    @Option(help: "Batch size B.") var batch = 16
    @Option(help: "Input width (default: H).") var input: Int?
    @Option(help: "Recurrent layers.") var layers = 1
    @Option(help: "Time steps per sequence.") var steps = 32
    @Option(help: "Timed repetitions (the median is reported).") var repeats = 7
    @Option(help: "Processes per DNC configuration, run in turn: the figure is the median of their medians (a shared machine's speed drifts over minutes).")
    var rounds = 1
    @Flag(help: "Print JSON instead of a table.") var json = false

    @Option(help: ArgumentHelp("With the DNC configurations: also time pytorch-dnc's training step, in this Python (one that imports torch and dnc), in a child process before ours in each round, and give the speed-up against that time instead of the reference figures from another machine.",
                               valueName: "python"))
    var pytorch: String?

    @Option(name: .customLong("pytorch-script"),
            help: ArgumentHelp("With --pytorch: the script that times pytorch-dnc (default: \(PyTorchDNCBench.defaultScript), relative to the current directory).",
                               valueName: "path"))
    var pytorchScript: String?

    @Option(help: ArgumentHelp("With the DNC configurations: in each round run our step once per value of this comma-separated list: OPENBLAS_CORETYPE set to the value, or removed for 'unset' (the kernels then chosen as in a user's run); e.g. unset,Haswell (default: the environment as it is).",
                               valueName: "list"))
    var coretypes: String?

    func validate() throws {
        guard RecurrentCellKind(rnnType: cell) != nil else { throw ValidationError("--cell '\(cell)' is not one of lstm, gru, rnn") }
        for (name, value) in [("hidden", hidden), ("batch", batch), ("layers", layers), ("steps", steps), ("repeats", repeats),
                              ("rounds", rounds)] {
            guard value >= 1 else { throw ValidationError("--\(name) must be positive, got \(value)") }
        }
        if let input, input < 1 { throw ValidationError("--input must be positive, got \(input)") }
        if let probes, probes < 1 { throw ValidationError("--probes must be positive, got \(probes)") }
        if let rows, !IndexBench.sizes.contains(rows) {
            throw ValidationError("--rows must be one of \(IndexBench.sizes.map(String.init).joined(separator: ", ")), got \(rows)")
        }
        if device < 0 { throw ValidationError("--device must be a GPU ordinal ≥ 0, got \(device)") }
        if let only, !(["controller", "scaling", "scaling-rank", "index", "products", SparseBenchConfiguration.fullTableName]
                       + GPUBench.names
                       + SparseBenchConfiguration.models).contains(only),
           SparseBenchConfiguration.named(only) == nil, RooflineBench.configurations(only) == nil,
           !DNCBenchConfiguration.all.contains(where: { $0.name == only }) {
            throw ValidationError("--only '\(only)' is not a benchmark (controller, \(DNCBenchConfiguration.all.map(\.name).joined(separator: ", ")))")
        }
        // The side-by-side flags change only the DNC configurations' runs; elsewhere they would be ignored silently.
        let dncNames = DNCBenchConfiguration.all.map(\.name)
        for (flag, value) in [("--pytorch", pytorch), ("--coretypes", coretypes)] where value != nil {
            if let only, !dncNames.contains(only) {
                throw ValidationError("\(flag) applies to the DNC configurations (plain dnc-bench or --only \(dncNames.joined(separator: "|"))), not to --only \(only)")
            }
        }
        if let pytorchScript, pytorch == nil { throw ValidationError("--pytorch-script '\(pytorchScript)' needs --pytorch PYTHON") }
        if let coretypes { _ = try OpenBLASCoreTypeChoice.parseList(coretypes, cpuFlags: BLASRuntime.cpuFlags()) }
        // Last: it starts the Python, which takes seconds to import torch.
        if let pytorch { _ = try PyTorchDNCBench.checked(python: pytorch, script: pytorchScript ?? PyTorchDNCBench.defaultScript) }
    }

    /// pytorch-dnc's side of the comparison, with --pytorch (validate() has checked it).
    var pytorchBench: PyTorchDNCBench? {
        pytorch.map { PyTorchDNCBench(python: PyTorchDNCBench.executablePath($0) ?? $0, script: pytorchScript ?? PyTorchDNCBench.defaultScript) }
    }

    /// The environments our DNC children run under each round: --coretypes, parsed (validate() has checked it).
    var coreTypeChoices: [OpenBLASCoreTypeChoice] {
        guard let coretypes, let choices = try? OpenBLASCoreTypeChoice.parseList(coretypes, cpuFlags: BLASRuntime.cpuFlags()) else {
            return [.inherited]
        }
        return choices
    }

    static func main() {
        BLASRuntime.relaunchWithBestKernelsIfNeeded()
        // As dnc-dist does (see SubnormalFlushing).
        SubnormalFlushing.applyConfigured()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // Help passes through; anything else is one line on stderr and exit status 2, as dnc-dist does.
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            var message = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(2)
        }
    }

    func run() throws {
        guard let only else { return try runEachInItsOwnProcess() }
        if only == "scaling-rank" {
            if let result = try ScalingBench.measureRank(repeats: repeats) {
                print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
            }
            return
        }
        if only == "index" { return try runIndexBench() }
        if only == "products" { return try ProductBench.run(json: json) }
        if GPUBench.names.contains(only) {
            return try GPUBench.run(only: only, device: device, emulated: emulated, withCPU: gpuCPU, repeats: repeats, json: json)
        }
        if let configurations = RooflineBench.configurations(only) {
            return try RooflineBench.run(configurations, repeats: repeats, json: json)
        }
        if SparseBenchConfiguration.models.contains(only) || only == SparseBenchConfiguration.fullTableName {
            let table = only == SparseBenchConfiguration.fullTableName ? SparseBenchConfiguration.fullTable : SparseBenchConfiguration.table(only)
            let results = try table.map { try runChild(name: $0.name) }
            if !json { printTable(results) }
            return
        }
        if let sam = SparseBenchConfiguration.named(only) {
            let (times, clock, resident) = try sam.measure(repeats: repeats)
            let median = Timing.median(times)
            var result: [String: Any] = ["name": sam.name, "model": sam.model, "nr_cells": sam.cells,
                                         "index": sam.approximate ? "approximate" : "exact", "batch": sam.batch,
                                         "median_ms": median * 1e3, "steps_per_second": 1 / median,
                                         "time_step_us": median * 1e6 / 21, "memory_full": sam.full,
                                         "peak_rss_mib": peakResidentMiB(), "repeats": repeats]
            if let resident { result["rss_mib"] = resident }
            if let clock {
                // The clock ran over all timed steps; its share is of their summed time.
                let total = times.reduce(0, +)
                result["index_share"] = clock.total / total
                result["index_search_us"] = clock.searching * 1e6 / Double(max(clock.searches, 1))
                result["index_update_us"] = clock.updating * 1e6 / Double(max(clock.updates, 1))
                result["index_searches_per_step"] = Double(clock.searches) / Double(times.count)
                result["index_updates_per_step"] = Double(clock.updates) / Double(times.count)
            }
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
            } else {
                printTable([result])
            }
            return
        }
        if only == "scaling" {
            guard let results = try ScalingBench.run(executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, repeats: repeats) else {
                throw ValidationError("the scaling benchmark needs mpirun (openmpi-bin)")
            }
            if json {
                for r in results { print(String(decoding: try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]), as: UTF8.self)) }
            } else {
                printTable(results)
            }
            return
        }
        // Several rounds, pytorch-dnc or other kernels: each of ours in a child process (a kernel
        // choice needs a process of its own), in turn with pytorch-dnc's.
        if rounds > 1 || pytorch != nil || coretypes != nil, DNCBenchConfiguration.all.contains(where: { $0.name == only }) {
            let results = try roundsOfChildren(names: [only])
            if json {
                for result in results {
                    print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
                }
            } else {
                printTable(results)
            }
            return
        }
        let result = only == "controller" ? controllerResult() : try dncResult(named: only)
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            printTable([result])
        }
    }

    /// Re-runs this program once per benchmark (`--only NAME --json`) and gathers the results.
    func runEachInItsOwnProcess() throws {
        var results = [try runChild(name: "controller")] + (try roundsOfChildren(names: DNCBenchConfiguration.all.map(\.name)))
            + (try runRooflineChild())
        if json {
            for object in results { print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)) }
        }
        if let scaling = try ScalingBench.run(executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path, repeats: repeats) {
            if json {
                for r in scaling { print(String(decoding: try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]), as: UTF8.self)) }
            }
            results += scaling
        }
        if !json { printTable(results) }
    }

    /// `rounds` rounds over the DNC configurations, the configurations in turn (so that a drift of
    /// the machine's speed touches all of them alike); in each round and for each configuration,
    /// pytorch-dnc's child process (with --pytorch), then ours once per --coretypes choice.
    /// One result per configuration and choice, in that order: see `combinedResult`.
    func roundsOfChildren(names: [String]) throws -> [[String: Any]] {
        let configurations = names.map { name in DNCBenchConfiguration.all.first { $0.name == name }! }
        let choices = coreTypeChoices, pytorchBench = self.pytorchBench
        let environment = ProcessInfo.processInfo.environment
        var ours = [[[[String: Any]]]](repeating: [[[String: Any]]](repeating: [], count: choices.count), count: names.count)
        var theirs = [[[String: Any]]](repeating: [], count: names.count)
        for _ in 0..<rounds {
            for (k, configuration) in configurations.enumerated() {
                if let pytorchBench { theirs[k].append(try pytorchBench.measure(configuration, repeats: repeats)) }
                for (c, choice) in choices.enumerated() {
                    ours[k][c].append(try runChild(name: configuration.name, environment: choice.childEnvironment(from: environment)))
                }
            }
        }
        return configurations.indices.flatMap { k in
            choices.indices.map { c in combinedResult(ours: ours[k][c], coreType: choices[c], pytorch: theirs[k]) }
        }
    }

    /// Our children's results of one configuration under one kernel choice, one per round, with
    /// pytorch-dnc's of the same rounds (none without --pytorch), as one result: the median of
    /// our children's medians (`median_ms`), their medians in order (`round_medians_ms`), the
    /// largest peak memory; `openblas_coretype`; with pytorch-dnc measured, the median of its
    /// rounds' medians (`pytorch_measured_ms`, the rounds' in `pytorch_round_medians_ms`) and
    /// `speedup_vs_pytorch_measured`, and the ratio of the two sides round by round
    /// (`speedup_round_ratios`, their median `speedup_median_round_ratio`). `pytorch_ms` and
    /// `speedup_vs_pytorch` are against the PyTorch time the table shows: the measured one when
    /// there is one, otherwise the reference figure (`pytorch_source` says which).
    func combinedResult(ours children: [[String: Any]], coreType: OpenBLASCoreTypeChoice, pytorch: [[String: Any]]) -> [String: Any] {
        var result = children[0]
        let ourMedians = children.map { $0["median_ms"] as! Double }
        if children.count > 1 {
            let median = Timing.median(ourMedians.sorted())
            result["median_ms"] = median
            result["min_ms"] = children.map { $0["min_ms"] as! Double }.min()!
            result["max_ms"] = children.map { $0["max_ms"] as! Double }.max()!
            result["round_medians_ms"] = ourMedians
            result["rounds"] = children.count
            result["steps_per_second"] = 1e3 / median
            result["sequences_per_second"] = Double(result["batch"] as! Int) * 1e3 / median
            result["peak_rss_mib"] = children.map { $0["peak_rss_mib"] as! Double }.max()!
        }
        result["openblas_coretype"] = coreType.label
        let median = result["median_ms"] as! Double
        if !pytorch.isEmpty {
            let medians = pytorch.map { $0["median_ms"] as! Double }
            let measured = Timing.median(medians.sorted())
            result["pytorch_measured_ms"] = measured
            result["pytorch_round_medians_ms"] = medians
            result["pytorch_min_ms"] = pytorch.map { $0["min_ms"] as! Double }.min()!
            result["pytorch_max_ms"] = pytorch.map { $0["max_ms"] as! Double }.max()!
            result["speedup_vs_pytorch_measured"] = measured / median
            // The two runs of a round follow each other, so their ratio misses most of a drift of
            // the machine's speed that moves the medians of either side across rounds.
            let ratios = zip(medians, ourMedians).map { $0 / $1 }
            result["speedup_round_ratios"] = ratios
            result["speedup_median_round_ratio"] = Timing.median(ratios.sorted())
            result["torch_version"] = pytorch[0]["torch_version"]
            result["dnc_version"] = pytorch[0]["dnc_version"]
            result["pytorch_threads"] = pytorch[0]["threads"]
            result["pytorch_ms"] = measured
            result["pytorch_source"] = "measured"
        }
        result["speedup_vs_pytorch"] = (result["pytorch_ms"] as! Double) / median
        return result
    }

    /// Runs `--only NAME --json` in a child process (its peak memory is its own) and returns its
    /// result; `environment` replaces this process's (nil: inherit it).
    func runChild(name: String, environment: [String: String]? = nil) throws -> [String: Any] {
        let arguments = ["--only", name, "--json", "--cell", cell, "--hidden", "\(hidden)", "--batch", "\(batch)",
                         "--layers", "\(layers)", "--steps", "\(steps)", "--repeats", "\(repeats)"]
            + (input.map { ["--input", "\($0)"] } ?? [])
        let result = try runForJSONResult(executable: "/proc/self/exe", arguments: arguments, environment: environment)
        guard result.status == 0, let object = result.object, let line = result.line else {
            throw ValidationError("benchmark \(name) failed (exit status \(result.status))")
        }
        if json && SparseBenchConfiguration.named(name) != nil { print(line) }
        return object
    }

    /// `--only roofline --json` in a child process: one result per DNC configuration.
    func runRooflineChild() throws -> [[String: Any]] {
        let result = try runForJSONResult(executable: "/proc/self/exe", arguments: ["--only", "roofline", "--json", "--repeats", "\(repeats)"])
        guard result.status == 0, result.objects.count == DNCBenchConfiguration.all.count else {
            throw ValidationError("benchmark roofline failed (exit status \(result.status))")
        }
        return result.objects
    }

    func runIndexBench() throws {
        if !json {
            print("Nearest-neighbour indexes on full memories (W \(IndexBench.width), K \(IndexBench.neighbours), "
                  + "\(IndexBench.queryCount) queries, \(IndexBench.updateCount) row updates)")
            print("dataset              index         build ms  query µs  recall@4  visited/query  update µs")
        }
        for clustered in rows == nil ? [false, true] : [self.clustered] {
            for cells in rows.map({ [$0] }) ?? IndexBench.sizes {
                let data = IndexBench.dataset(cells: cells, clustered: clustered)
                if let dump { try IndexBench.dump(data, to: URL(fileURLWithPath: dump)) }
                for approximate in [false, true] {
                    let r = IndexBench.measure(data, approximate: approximate, probes: probes)
                    if json {
                        print(String(decoding: try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]), as: UTF8.self))
                    } else {
                        print((r["dataset"] as! String).padding(toLength: 21, withPad: " ", startingAt: 0)
                              + (r["index"] as! String).padding(toLength: 12, withPad: " ", startingAt: 0)
                              + String(format: "%10.1f %9.1f %9.3f %14.0f %10.2f", r["build_ms"] as! Double, r["query_us"] as! Double,
                                       r["recall_at_k"] as! Double, r["entries_visited_per_query"] as! Double, r["update_us"] as! Double))
                    }
                }
            }
        }
    }

    func printTable(_ results: [[String: Any]]) {
        print("BLAS: \(BLASRuntime.summary)")
        print("Products: \(ProductPath.summary)")
        print("Subnormals: \(SubnormalFlushing.summary)")
        for result in results {
            let name = result["name"] as? String ?? "?"
            if name == "controller" {
                print("\ncontroller \(result["cell"]!) H=\(result["hidden"]!) B=\(result["batch"]!) in=\(result["input"]!) "
                      + "layers=\(result["layers"]!) T=\(result["steps"]!), median of \(result["repeats"]!)")
                func row(_ label: String, _ key: String, _ format: String) {
                    print(label.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: format, result[key] as? Double ?? .nan))
                }
                row("forward+backward per batch (ms)", "median_ms", "%10.3f")
                row("controller throughput (GFLOP/s)", "controller_gflops", "%10.1f")
                row("sgemm peak 1024³ (GFLOP/s)", "sgemm_peak_gflops_1024", "%10.1f")
                row("sgemm at the step's shape (GFLOP/s)", "sgemm_gflops_step_shape", "%10.1f")
                row("fraction of sgemm peak", "fraction_of_peak", "%10.2f")
                for (kernel, rate) in (result["elementwise_melem_per_second"] as? [String: Double] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    print("\(kernel), 64K floats (M/s)".padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%10.0f", rate))
                }
            }
        }
        let scaling = results.filter { ($0["name"] as? String) == "scaling" }
        if !scaling.isEmpty {
            print("\nData-parallel dnc-paper step (global batch 16; ranks time-sliced on this machine), slowest rank, median")
            print("ranks  compute ms  allreduce ms  bytes reduced/step")
            for r in scaling {
                print(String(format: "%5d %11.2f %13.3f %19d", r["ranks"] as! Int, r["compute_ms"] as! Double,
                             r["allreduce_ms"] as! Double, r["bytes_reduced_per_step"] as! Int))
            }
        }
        for model in SparseBenchConfiguration.models {
            for full in [false, true] {
                let rows = results.filter { ($0["model"] as? String) == model && ($0["memory_full"] as? Bool ?? false) == full }
                guard !rows.isEmpty else { continue }
                print("\n\(model.uppercased()) training step (LSTM 100, W 32, 1 read head, K 4\(model == "sdnc" ? ", K_L 4" : ""), copy length 10 = 21 steps"
                      + (full ? ", every cell written and indexed" : "") + "), median")
                print("cells      index        batch  ms/step  µs/time step  peak RSS MiB" + (full ? "  RSS MiB  index share  search µs  update µs" : ""))
                for r in rows {
                    let index = (r["index"] as! String).padding(toLength: 12, withPad: " ", startingAt: 0)
                    var line = String(format: "%-10d ", r["nr_cells"] as! Int) + index
                        + String(format: " %5d %8.2f %13.1f %13.1f", r["batch"] as! Int, r["median_ms"] as! Double,
                                 r["time_step_us"] as? Double ?? .nan, r["peak_rss_mib"] as! Double)
                    if full {
                        line += String(format: " %8.1f %12.2f %10.1f %10.2f", r["rss_mib"] as? Double ?? .nan, r["index_share"] as? Double ?? .nan,
                                       r["index_search_us"] as? Double ?? .nan, r["index_update_us"] as? Double ?? .nan)
                    }
                    print(line)
                }
            }
        }
        let dnc = results.filter { !["controller", "scaling", "roofline"].contains($0["name"] as? String ?? "")
            && !SparseBenchConfiguration.models.contains($0["model"] as? String ?? "") }
        if !dnc.isEmpty {
            print("\nDNC training step (forward + BCE + backward + Adam), copy task, batch-first, "
                  + (rounds > 1 ? "median of \(rounds) processes' medians" : "median"))
            if let measured = dnc.first(where: { ($0["pytorch_source"] as? String) == "measured" }) {
                print("pytorch-dnc: measured here, in the same run, before ours in each round (dnc \(measured["dnc_version"] ?? "?") "
                      + "on torch \(measured["torch_version"] ?? "?"), \(measured["pytorch_threads"] ?? "?") thread(s))")
            } else {
                print("pytorch-dnc: reference figures from the issue text, measured on another machine, not here "
                      + "(--pytorch PYTHON measures them side by side)")
            }
            let roundRatios = dnc.contains { $0["speedup_median_round_ratio"] != nil }
            print("config          OPENBLAS_CORETYPE  kernels      ms/step  steps/s    seq/s  peak RSS MiB  pytorch-dnc ms       speed-up"
                  + (roundRatios ? "  median of round ratios" : ""))
            // Text columns padded in Swift: Foundation's %-14@ on Linux does not pad.
            func column(_ value: Any?, _ width: Int) -> String {
                "\(value ?? "?")".padding(toLength: width, withPad: " ", startingAt: 0)
            }
            for r in dnc {
                print(column(r["name"], 16) + column(r["openblas_coretype"] ?? "inherited", 19) + column(r["openblas_core"], 11)
                      + String(format: "%9.2f %8.1f %8.0f %13.1f %9.1f ", r["median_ms"] as! Double, r["steps_per_second"] as! Double,
                               r["sequences_per_second"] as! Double, r["peak_rss_mib"] as! Double, r["pytorch_ms"] as! Double)
                      + column(r["pytorch_source"] ?? "reference", 9) + String(format: " %8.1fx", r["speedup_vs_pytorch"] as! Double)
                      + ((r["speedup_median_round_ratio"] as? Double).map { String(format: " %23.1fx", $0) } ?? ""))
            }
        }
        let roofline = results.filter { ($0["name"] as? String) == "roofline" }
        if !roofline.isEmpty {
            print("")
            RooflineBench.printTable(roofline, libraries: false)
        }
    }

    func controllerResult() -> [String: Any] {
        let kind = RecurrentCellKind(rnnType: cell)!
        let inputWidth = input ?? hidden
        let controller = measureController(kind: kind, inputWidth: inputWidth)
        let peak = measureSgemm(m: 1024, n: 1024, k: 1024)
        let shaped = measureSgemm(m: batch, n: kind.gateCount * hidden, k: inputWidth + hidden)
        return [
            "name": "controller", "blas": BLASRuntime.summary, "products": ProductPath.summary,
            "cell": kind.description, "hidden": hidden, "batch": batch, "input": inputWidth,
            "layers": layers, "steps": steps, "repeats": repeats,
            "median_ms": controller.seconds * 1e3,
            "controller_gflops": controller.gflops,
            "sequences_per_second": Double(batch) / controller.seconds,
            "sgemm_peak_gflops_1024": peak,
            "sgemm_gflops_step_shape": shaped,
            "fraction_of_peak": controller.gflops / peak,
            "elementwise_melem_per_second": measureElementwise(),
            "peak_rss_mib": peakResidentMiB(),
        ]
    }

    func dncResult(named name: String) throws -> [String: Any] {
        let configuration = DNCBenchConfiguration.all.first { $0.name == name }!
        let times = try configuration.measure(repeats: repeats)
        let median = Timing.median(times)
        return [
            "name": name, "blas": BLASRuntime.summary, "products": ProductPath.summary, "repeats": repeats,
            "hidden": configuration.hiddenSize, "controller_layers": configuration.controllerDepth,
            "cells": configuration.cells, "cell_width": configuration.width, "read_heads": configuration.readHeads,
            "batch": configuration.batch, "steps": 2 * configuration.copyLength + 1,
            "median_ms": median * 1e3, "min_ms": times.first! * 1e3, "max_ms": times.last! * 1e3,
            "steps_per_second": 1 / median, "sequences_per_second": Double(configuration.batch) / median,
            "peak_rss_mib": peakResidentMiB(),
            "openblas_coretype": "inherited", "openblas_core": BLASRuntime.coreName,
            // The reference figure from another machine; a --pytorch parent replaces it with its measurement.
            "pytorch_ms": configuration.pytorchReferenceMilliseconds, "pytorch_reference_ms": configuration.pytorchReferenceMilliseconds,
            "pytorch_source": "reference",
            "speedup_vs_pytorch": configuration.pytorchReferenceMilliseconds / (median * 1e3),
        ]
    }

    /// Forward and backward through the whole sequence; FLOPs counted from the matrix products
    /// only (forward 2·B·G·(in+H) per layer-step, backward twice that).
    func measureController(kind: RecurrentCellKind, inputWidth: Int) -> (seconds: Double, gflops: Double) {
        let store = ParameterStore<Float>()
        let stack = RecurrentStack(store: store, kind: kind, inputSize: inputWidth, hiddenSize: hidden, depth: layers)
        let random = CounterRandom(seed: 1)
        stack.initializeDefault(random: random, stream: 0)
        let inputs = Tensor<Float>(shape: [steps, batch, inputWidth],
                                   storage: (0..<(steps * batch * inputWidth)).map { Float(random.uniform(stream: 1, index: UInt64($0))) - 0.5 })
        let gradients = Tensor<Float>(shape: [steps, batch, hidden], repeating: 0.01)
        let tape = RecurrentTape<Float>()
        var dropout = random.sequence(stream: 2)
        let times = Timing.samples(repeats: repeats) {
            store.zeroGradients()
            _ = stack.forward(inputs, from: stack.zeroState(batch: batch), tape: tape, dropoutRandom: &dropout)
            _ = stack.backward(tape: tape, outputGradients: gradients)
        }
        let seconds = Timing.median(times)
        var flops = 0.0
        for k in 0..<layers {
            let width = (k == 0 ? inputWidth : hidden) + hidden
            flops += 3 * 2 * Double(batch * kind.gateCount * hidden * width)
        }
        flops *= Double(steps)
        return (seconds, flops / seconds * 1e-9)
    }

    /// Element-wise kernels over 64K floats (L2-resident), against glibc's scalar `tanhf`.
    func measureElementwise() -> [String: Double] {
        let n = 65_536
        let x = (0..<n).map { Float($0 % 2001) / 100 - 10 }
        var y = [Float](repeating: 0, count: n)
        let kernels: [(String, () -> Void)] = [
            ("tanh (Kernels)", { Kernels.tanh(x, &y, count: n) }),
            ("sigmoid (Kernels)", { Kernels.sigmoid(x, &y, count: n) }),
            ("exp (Kernels)", { Kernels.exp(x, &y, count: n) }),
            ("tanhf (glibc)", { for i in 0..<n { y[i] = Foundation.tanhf(x[i]) } }),
        ]
        var rates: [String: Double] = [:]
        for (name, body) in kernels {
            let times = Timing.samples(repeats: 9) { for _ in 0..<20 { body() } }
            rates[name] = Double(20 * n) / Timing.median(times) * 1e-6
        }
        return rates
    }

    func measureSgemm(m: Int, n: Int, k: Int) -> Double {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        // Enough repetitions for ~50 ms per sample.
        let flopsPerCall = 2.0 * Double(m * n * k)
        let calls = Swift.max(1, Int(2.5e9 / flopsPerCall))
        let times = Timing.samples(repeats: 5) {
            for _ in 0..<calls { Kernels.gemm(transB: true, m: m, n: n, k: k, a: a, b: b, c: &c) }
        }
        return flopsPerCall * Double(calls) / Timing.median(times) * 1e-9
    }
}


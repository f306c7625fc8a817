// swift-tools-version: 6.0
// The reference Swift implementation of memory-augmented neural networks (DNC, SAM, SDNC)
// and their data-parallel trainer `dnc-dist`. See README.md.
import PackageDescription

let package = Package(
    name: "dnc-swift",
    products: [
        // Everything: `import DNCKit` brings every public module (checkpoints, tasks, trainer, MPI, reports).
        .library(name: "DNCKit", targets: ["DNCKit"]),
        // The models alone: `import DNCCore` brings numerics, layers, memories and the DNC/SAM/SDNC,
        // with no HDF5, MPI or argument parser to link (OpenBLAS only).
        .library(name: "DNCCore", targets: ["DNCCore"]),
        .executable(name: "dnc-dist", targets: ["DNCDistCommand"]),
        .executable(name: "dnc-bench", targets: ["DNCBenchCommand"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation --target DNCKit` (the DocC catalog in Sources/DNCKit).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // `dnc-dist serve`: the live view's HTTP server (only the dnc-dist executable links it).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // System libraries, found through pkg-config under the names Debian 12's -dev packages install.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // JIT small-matrix products (libxsmm 1.17, static). Its fallback references dgemm_,
        // which OpenBLAS provides (DNCNumerics links both).
        .systemLibrary(name: "CLibxsmm", path: "Sources/CLibxsmm", pkgConfig: "libxsmm",
                       providers: [.apt(["libxsmm-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // Named explicitly: `hdf5.pc` is a Debian alternative that flips to the MPI build.
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5-serial",
                       providers: [.apt(["libhdf5-dev"])]),
        // DEFLATE and CRC-32 for the reports' PNG images.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // C where Swift cannot reach: the MPI and HDF5 macros Swift cannot import.
        .target(name: "CDNCShim", dependencies: ["CMPI", "CHDF5"], path: "Sources/CDNCShim"),
        // ... and the approximate index's scan compiled for AVX-512 VNNI in one function (C's
        // `target` attribute; Swift has no per-function target), called when the CPU has it.
        .target(name: "CQuantisedScan", path: "Sources/CQuantisedScan"),

        // Numeric core: tensors, kernels over raw buffers, BLAS, counter-based random numbers.
        .target(name: "DNCNumerics", dependencies: ["CBLAS", "CLibxsmm"], path: "Sources/Numerics"),
        // HDF5 files: groups, datasets, attributes, with Swift errors.
        .target(name: "DNCStorage", dependencies: ["CDNCShim", "CHDF5", "DNCNumerics"], path: "Sources/Storage"),
        // Layers with hand-written backward passes, losses, optimisers.
        .target(name: "DNCLayers", dependencies: ["DNCNumerics"], path: "Sources/Layers"),
        // External memories (dense DNC memory; sparse ones), each step with its backward.
        .target(name: "DNCMemories", dependencies: ["CQuantisedScan", "DNCNumerics", "DNCLayers"], path: "Sources/Memories"),
        // Whole models: controller + memory + output layer over sequences.
        .target(name: "DNCModels", dependencies: ["DNCNumerics", "DNCLayers", "DNCMemories"], path: "Sources/Models"),
        // Data parallelism over MPI: the communicator behind the trainer's collectives.
        .target(name: "DNCDistribution", dependencies: ["CDNCShim", "DNCTraining"], path: "Sources/Distribution"),
        // Run reports: HTML pages with SVG figures (heatmap cells as PNG) from a run directory.
        .target(name: "DNCReports", dependencies: ["CZlib", "DNCNumerics", "DNCStorage"], path: "Sources/Reports"),
        // GPU ranks (issue #14): the CUDA driver and NVRTC opened at run time (nothing at build time), device selection.
        // The CUDA C kernels (kernels/*.cu): their text embedded for NVRTC, and their launches emulated on the CPU.
        .target(name: "CGPUKernels", path: "Sources/CGPUKernels", exclude: ["kernels"]),
        .target(name: "DNCGPU", dependencies: ["CGPUKernels"], path: "Sources/GPU"),
        // The GPU back end: the DNC's training step as kernel launches on a KernelDevice (a CUDA GPU,
        // or the CPU emulating the launches, which is how it is tested without a GPU).
        .target(name: "DNCGPUTraining", dependencies: ["DNCGPU", "DNCNumerics", "DNCLayers", "DNCMemories", "DNCModels", "DNCTraining"],
                path: "Sources/GPUTraining"),
        // `dnc-dist serve`: a run's report over HTTP, changes pushed to the browser as server-sent
        // events. Outside DNCKit and DNCCore, so that neither library pulls in the server stack.
        .target(name: "LiveServer",
                dependencies: ["DNCReports",
                               .product(name: "Hummingbird", package: "hummingbird"),
                               .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                               .product(name: "Logging", package: "swift-log"),
                               .product(name: "NIOCore", package: "swift-nio")],
                path: "Sources/LiveServer"),
        // Tasks and training loops.
        .target(name: "DNCTraining", dependencies: ["DNCNumerics", "DNCLayers", "DNCMemories", "DNCModels", "DNCStorage"],
                path: "Sources/Training"),

        // Umbrella modules: one file each of `@_exported import`s, so that users import one module.
        .target(name: "DNCCore", dependencies: ["DNCNumerics", "DNCLayers", "DNCMemories", "DNCModels"], path: "Sources/DNCCore"),
        .target(name: "DNCKit", dependencies: ["DNCCore", "DNCStorage", "DNCTraining", "DNCDistribution", "DNCReports", "DNCGPU", "DNCGPUTraining"],
                path: "Sources/DNCKit"),

        .executableTarget(name: "DNCDistCommand",
                          dependencies: ["DNCNumerics", "DNCLayers", "DNCMemories", "DNCStorage", "DNCModels", "DNCTraining", "DNCReports", "DNCDistribution", "DNCGPU",
                                         "DNCGPUTraining", "LiveServer",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/DNCDistCommand"),
        .executableTarget(name: "DNCBenchCommand",
                          dependencies: ["DNCNumerics", "DNCLayers", "DNCModels", "DNCTraining", "DNCDistribution", "DNCGPU", "DNCGPUTraining",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/DNCBenchCommand"),

        // Shared by the test targets: finite-difference checks, fixture discovery.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "NumericsTests", dependencies: ["DNCNumerics"]),
        .testTarget(name: "StorageTests", dependencies: ["TestSupport", "DNCStorage", "DNCNumerics"]),
        .testTarget(name: "LayersTests", dependencies: ["TestSupport", "DNCLayers", "DNCNumerics", "DNCStorage"]),
        .testTarget(name: "MemoriesTests", dependencies: ["TestSupport", "DNCMemories", "DNCLayers", "DNCNumerics", "DNCStorage"]),
        .testTarget(name: "ReportTests", dependencies: ["TestSupport", "DNCReports", "DNCStorage", "DNCNumerics"]),
        .testTarget(name: "LiveServerTests", dependencies: ["TestSupport", "LiveServer", "DNCReports", "DNCStorage", "DNCNumerics"]),
        .testTarget(name: "CommandLineTests", dependencies: ["TestSupport", "DNCTraining", "DNCModels", "DNCLayers", "DNCNumerics", "DNCStorage"]),
        .testTarget(name: "GPUTrainingTests", dependencies: ["TestSupport", "DNCGPUTraining", "DNCGPU", "CGPUKernels", "DNCModels",
                                                            "DNCMemories", "DNCLayers", "DNCNumerics", "DNCTraining"]),
        .testTarget(name: "GPUTests", dependencies: ["TestSupport", "DNCGPU", "CGPUKernels", "DNCMemories", "DNCNumerics"]),
        .testTarget(name: "ModelsTests", dependencies: ["TestSupport", "DNCModels", "DNCMemories", "DNCLayers", "DNCNumerics", "DNCStorage", "DNCTraining"]),
    ]
)

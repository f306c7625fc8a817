import Foundation

/// SIGTERM, SIGINT and SIGUSR1 (what batch schedulers send before preemption or the time limit)
/// ask the trainer to finish its current step, write a checkpoint and exit with
/// `StopSignals.requeueExitCode`. The handler only sets a flag; the loop polls it between steps.
public enum StopSignals {
    /// Exit code after a signal-requested stop: a checkpoint is on disk and `--resume` continues.
    /// 99 is unused by sysexits and by the shells' 128+N convention.
    public static let requeueExitCode: Int32 = 99

    nonisolated(unsafe) private static var received: sig_atomic_t = 0

    /// The signal that asked to stop, or nil.
    public static var pending: Int32? { received == 0 ? nil : Int32(received) }

    public static func install() {
        for s in [SIGTERM, SIGINT, SIGUSR1] {
            signal(s) { number in StopSignals.received = sig_atomic_t(number) }
        }
    }

    public static func name(_ number: Int32) -> String {
        switch number { case SIGTERM: "SIGTERM"; case SIGINT: "SIGINT"; case SIGUSR1: "SIGUSR1"; default: "signal \(number)" }
    }
}

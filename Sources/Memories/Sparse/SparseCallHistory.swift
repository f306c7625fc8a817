import DNCNumerics

/// The calls recorded on a sparse memory's states, oldest first, so that a backward through an
/// earlier call can first undo the later ones (the state is changed in place: it is at the end
/// of the latest call). Tapes are held weakly; a call without a log, or a reset (a fresh state
/// is a reset one), makes the earlier logs of the same state unusable and drops them.
///
/// Also keeps the memory's last fresh state for reuse (a lazy reset is O(1) per sample, a new
/// state allocates N×W per sample).
public final class SparseCallHistory<T: Real>: @unchecked Sendable {
    private struct Call {
        weak var tape: SparseMemoryTape<T>?
        let state: ObjectIdentifier
    }
    private var calls: [Call] = []
    var freshStatePool: SparseMemoryState<T>?

    public init() {}

    /// Notes a call on `state` recorded (or not) on `tape`.
    func noteCall(tape: SparseMemoryTape<T>, state: SparseMemoryState<T>, recorded: Bool, reset: Bool, changesMemory: Bool) {
        let id = ObjectIdentifier(state)
        calls.removeAll { call in
            call.tape == nil || call.tape === tape || (changesMemory && (!recorded || reset) && call.state == id)
        }
        if recorded && changesMemory { calls.append(Call(tape: tape, state: id)) }
    }

    /// The tapes of the calls recorded after `tape` on the same state, oldest first.
    func calls(after tape: SparseMemoryTape<T>) -> [SparseMemoryTape<T>] {
        guard let index = calls.firstIndex(where: { $0.tape === tape }) else { return [] }
        let state = calls[index].state
        return calls[(index + 1)...].filter { $0.state == state }.compactMap(\.tape)
    }
}

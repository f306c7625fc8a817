/// Input `dnc-dist serve` refuses before serving (the run directory, `--host`, `--port`): one
/// line that names the flag or argument, the value and what is accepted.
public struct ServeInputError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

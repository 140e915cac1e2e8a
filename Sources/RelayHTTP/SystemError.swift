import Glibc

/// `strerror` for the current or a given `errno`, for messages a person reads.
func systemErrorText(_ code: Int32 = errno) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

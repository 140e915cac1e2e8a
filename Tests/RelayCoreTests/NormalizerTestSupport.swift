@testable import RelayCore

/// The normalized value, or nil when the value was dropped or already hashed.
func normalized(
    _ field: CustomerField, _ raw: String, _ normalizer: Normalizer = Normalizer()
) -> String? {
    if case .value(let value) = normalizer.normalize(field, raw) { return value }
    return nil
}

/// The drop reason's code, or nil when the value was kept.
func dropCode(
    _ field: CustomerField, _ raw: String, _ normalizer: Normalizer = Normalizer()
) -> DropReason.Code? {
    if case .dropped(let reason) = normalizer.normalize(field, raw) { return reason.code }
    return nil
}

/// The hash, or nil when the value was dropped.
func hashed(
    _ field: CustomerField, _ raw: String, _ normalizer: Normalizer = Normalizer()
) -> String? {
    try? normalizer.hash(field, raw).get()
}

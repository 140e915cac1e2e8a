import RelayCore
/// Builds the Graph error for a rule broken by one event, with a uniform message.
///
/// Messages read "<problem> in <field> of event <index>: <detail>", e.g. "unhashed or
/// malformed value in user_data.em of event 3: …". The index is the event's zero-based position
/// in `data`, so `event 3` is `data[3]`.
struct EventFault {
    let index: Int

    func error(
        _ problem: String, in field: String, _ detail: String,
        title: String, fix: String, subcode: Int? = nil
    ) -> GraphError {
        .invalidParameter(
            "\(problem) in \(field) of event \(index): \(detail)",
            title: title, fix: fix, subcode: subcode
        )
    }

    func missing(_ field: String, _ detail: String, fix: String) -> GraphError {
        error("missing value", in: field, detail, title: "Missing Parameter", fix: fix)
    }

    /// `quoteValue: false` for customer information, which is described only by its JSON kind.
    func wrongType(
        _ field: String, expected: String, got value: JSONValue, quoteValue: Bool = true
    ) -> GraphError {
        let got = quoteValue ? describe(value) : value.kindDescription
        return error(
            "wrong type", in: field, "expected \(expected), got \(got)",
            title: "Invalid Parameter Type", fix: "Send \(field) as \(expected)."
        )
    }

    func invalid(_ field: String, _ detail: String, fix: String) -> GraphError {
        error("invalid value", in: field, detail, title: "Invalid Parameter", fix: fix)
    }
}

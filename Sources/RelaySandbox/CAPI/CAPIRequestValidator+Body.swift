import RelayCore
/// Reading the request body into Graph parameters, for each content type Graph accepts.
extension CAPIRequestValidator {
    /// The body's parameters by name; text fields (form, multipart) become `.string`.
    ///
    /// Graph takes parameters from the query and from the body alike; an empty body simply
    /// contributes none, which lets `curl -X POST '…/events?access_token=…&data=[…]'` work.
    func bodyParameters(
        contentType: String?, body: [UInt8]
    ) -> Result<[String: JSONValue], GraphError> {
        if body.isEmpty { return .success([:]) }

        let mediaType = contentType.map { type in
            (type.split(separator: ";").first.map(String.init) ?? "").trimmed(of: " \t")
                .lowercased()
        }
        switch mediaType {
        case "application/json":
            return jsonParameters(body)
        case "application/x-www-form-urlencoded":
            return .success(fields(FormURLEncoding.decode(body)))
        case "multipart/form-data":
            guard let boundary = contentType.flatMap(MultipartFormData.boundary(fromContentType:)),
                let decoded = MultipartFormData.decode(body, boundary: boundary)
            else {
                return .failure(
                    .invalidParameter(
                        "the multipart/form-data body could not be read with its boundary",
                        title: "Malformed Request Body",
                        fix: "Let the HTTP client build the multipart body, or send JSON instead."
                    ))
            }
            return .success(fields(decoded))
        default:
            let shown = contentType.map { "Content-Type \(quoted($0))" } ?? "no Content-Type"
            return .failure(
                .invalidParameter(
                    "the body was sent with \(shown); expected application/json, "
                        + "application/x-www-form-urlencoded or multipart/form-data",
                    title: "Unsupported Content Type",
                    fix: "Send the body as JSON with Content-Type: application/json."
                ))
        }
    }

    private func jsonParameters(_ body: [UInt8]) -> Result<[String: JSONValue], GraphError> {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: body)
        } catch {
            return .failure(
                .invalidParameter(
                    "the request body is not valid JSON (\(error))",
                    title: "Malformed Request Body",
                    fix: "Send a JSON object such as {\"data\":[…]}."
                ))
        }
        guard case .object(let members) = value else {
            return .failure(
                .invalidParameter(
                    "the request body must be a JSON object, got \(value.kindDescription)",
                    title: "Malformed Request Body",
                    fix: "Wrap the events: {\"data\":[…]}."
                ))
        }
        return .success(members)
    }

    /// Form fields as parameters; the first occurrence of a name wins, as in the query.
    private func fields(_ pairs: [(name: String, value: String)]) -> [String: JSONValue] {
        var parameters: [String: JSONValue] = [:]
        for pair in pairs where parameters[pair.name] == nil {
            parameters[pair.name] = .string(pair.value)
        }
        return parameters
    }
}

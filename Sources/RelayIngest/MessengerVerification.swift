import RelayCore

/// The `hub.mode=subscribe` handshake Meta sends when a webhook URL is configured.
public enum MessengerVerification {
    public enum Outcome: Sendable, Equatable {
        /// Answer 200 with this body, the `hub.challenge` echoed back.
        case accept(challenge: String)
        /// Answer 403; the reason is for the log, never for the response body.
        case reject(reason: String)
    }

    /// Decides the handshake from the query parameters.
    public static func answer(query: [String: String], verifyToken: String) -> Outcome {
        guard query["hub.mode"] == "subscribe" else {
            return .reject(reason: "hub.mode is not subscribe")
        }
        guard let token = query["hub.verify_token"], Crypto.constantTimeEqual(token, verifyToken)
        else {
            return .reject(reason: "hub.verify_token does not match")
        }
        guard let challenge = query["hub.challenge"], !challenge.isEmpty else {
            return .reject(reason: "hub.challenge is missing")
        }
        return .accept(challenge: challenge)
    }
}

import Foundation
import RelayCore

/// Parses Page webhook bodies (`object: page`) into signals, one per messaging item.
///
/// Meta batches several entries into one delivery and documents a few variants of the same
/// items, so parsing is lenient about shape where Meta is inconsistent (numeric or string
/// timestamps, `messaging`, `standby` or `changes` wrappers) and strict about what matters:
/// the body must be JSON, the object must be `page`.
public enum MessengerWebhook {
    /// Why a body was refused.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// Not JSON, or JSON of the wrong shape; answered 400.
        case malformed(String)
        /// `object` is not `page`; answered 404, as Meta's sample server does.
        case unsupportedObject(String)

        public var description: String {
            switch self {
            case .malformed(let detail): "malformed webhook body: \(detail)"
            case .unsupportedObject(let object): "unsupported webhook object '\(object)'"
            }
        }
    }

    /// The signals in a body, in delivery order.
    public static func parse(_ body: [UInt8]) throws(ParseError) -> [InboundSignal] {
        let payload: Body
        do {
            payload = try JSONDecoder().decode(Body.self, from: Data(body))
        } catch let error as DecodingError {
            throw .malformed(describe(error))
        } catch {
            throw .malformed("not JSON")
        }
        guard payload.object == "page" else {
            throw .unsupportedObject(String(payload.object.prefix(64)))
        }

        var signals: [InboundSignal] = []
        for entry in payload.entry ?? [] {
            let items =
                (entry.messaging ?? []) + (entry.standby ?? [])
                + (entry.changes ?? []).compactMap(\.value)
            for item in items {
                signals.append(signal(from: item, pageID: entry.id))
            }
        }
        return signals
    }

    private static func signal(from item: Item, pageID entryPageID: String?) -> InboundSignal {
        let pageIDFallback = entryPageID ?? item.recipient?.id ?? ""
        var signal = InboundSignal(
            pageID: pageIDFallback,
            pageScopedUserID: item.sender?.id ?? "",
            timestampMillis: item.timestamp?.value ?? 0,
            kind: .other)

        if let message = item.message {
            signal.mid = message.mid
            signal.text = message.text
            signal.referral = message.referral?.referral
            if message.isEcho == true {
                // An echo goes from the page to the person: the person is the recipient.
                signal.kind = .echo
                signal.pageScopedUserID = item.recipient?.id ?? ""
            } else if let quickReply = message.quickReply {
                signal.kind = .quickReply
                signal.payload = quickReply.payload
            } else {
                signal.kind = .message
            }
        } else if let postback = item.postback {
            signal.kind = .postback
            signal.mid = postback.mid
            signal.payload = postback.payload
            signal.referral = postback.referral?.referral
        } else if let referral = item.referral {
            signal.kind = .referral
            signal.referral = referral.referral
        } else if let optin = item.optin {
            signal.kind = .optin
            signal.payload = optin.payload ?? optin.ref
            signal.optinType = optin.type
        } else if item.read != nil {
            signal.kind = .read
        } else if item.delivery != nil {
            signal.kind = .delivery
        }
        return signal
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> [String] {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "not JSON"
        case .keyNotFound(let key, let context):
            return "missing " + (path(context) + [key.stringValue]).joined(separator: ".")
        case .dataCorrupted(let context), .typeMismatch(_, let context),
            .valueNotFound(_, let context):
            let field = path(context).joined(separator: ".")
            return "unexpected value at " + (field.isEmpty ? "the top level" : field)
        @unknown default:
            return "unexpected shape"
        }
    }
}

// The wire shapes. Only what the relay reads is declared; everything else is ignored, because
// Meta adds fields over time and an unknown field must never turn a delivery away.
extension MessengerWebhook {
    struct Body: Decodable {
        var object: String
        var entry: [Entry]?
    }

    struct Entry: Decodable {
        var id: String?
        var messaging: [Item]?
        var standby: [Item]?
        var changes: [Change]?
    }

    /// The `{"field": "messaging_postbacks", "value": {...}}` form some references show.
    struct Change: Decodable {
        var field: String?
        var value: Item?
    }

    struct Party: Decodable {
        var id: String?
    }

    struct Item: Decodable {
        var sender: Party?
        var recipient: Party?
        var timestamp: FlexibleInt?
        var message: Message?
        var postback: Postback?
        var referral: WireReferral?
        var optin: Optin?
        var read: Receipt?
        var delivery: Receipt?
    }

    struct Message: Decodable {
        var mid: String?
        var text: String?
        var isEcho: Bool?
        var quickReply: QuickReply?
        var referral: WireReferral?

        enum CodingKeys: String, CodingKey {
            case mid, text, referral
            case isEcho = "is_echo"
            case quickReply = "quick_reply"
        }
    }

    struct QuickReply: Decodable {
        var payload: String?
    }

    struct Postback: Decodable {
        var mid: String?
        var title: String?
        var payload: String?
        var referral: WireReferral?
    }

    struct Optin: Decodable {
        var type: String?
        var payload: String?
        var ref: String?
    }

    struct Receipt: Decodable {
        var watermark: FlexibleInt?
    }

    struct WireReferral: Decodable {
        var ref: String?
        var source: String?
        var type: String?
        var adID: String?
        var adsContextData: AdsContext?

        struct AdsContext: Decodable {
            var adTitle: String?
            var postID: String?

            enum CodingKeys: String, CodingKey {
                case adTitle = "ad_title"
                case postID = "post_id"
            }
        }

        enum CodingKeys: String, CodingKey {
            case ref, source, type
            case adID = "ad_id"
            case adsContextData = "ads_context_data"
        }

        var referral: Referral {
            Referral(
                ref: ref, source: source, type: type, adID: adID,
                adTitle: adsContextData?.adTitle, postID: adsContextData?.postID)
        }
    }

    /// An integer Meta sends either as a JSON number or as a string of digits.
    struct FlexibleInt: Decodable {
        var value: Int64

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                value = number
            } else if let text = try? container.decode(String.self), let number = Int64(text) {
                value = number
            } else {
                throw DecodingError.typeMismatch(
                    Int64.self,
                    .init(codingPath: decoder.codingPath, debugDescription: "not an integer"))
            }
        }
    }
}

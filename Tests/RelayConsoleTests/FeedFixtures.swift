import Foundation

/// Feed lines as the relay sends them (protocol version 1), small and named for what they show.
enum FeedFixtures {
    static let dataset = "880000000000001"

    static let hello =
        #"{"type":"hello","protocol":1,"version":"0.1.0","node":"relay-1","config":"#
        + #"{"listen":"127.0.0.1:8080","datasets":["880000000000001"],"pages":2,"#
        + #""rules":["guide-lead","purchase"],"crm":true,"graph_url":"http://127.0.0.1:9090","#
        + #""api_version":"v25.0"}}"#

    static func snapshot(records: [String] = []) -> String {
        #"{"type":"snapshot","counters":"# + counters() + #","destinations":"# + destinations
            + #","records":["# + records.joined(separator: ",") + "]}"
    }

    static func stats(received: Int = 3, sent: Int = 1, failed: Int = 0) -> String {
        #"{"type":"stats","counters":"#
            + counters(received: received, sent: sent, failed: failed)
            + #","destinations":"# + destinations + "}"
    }

    static func counters(received: Int = 3, sent: Int = 1, failed: Int = 0) -> String {
        #"{"received":\#(received),"conversions":2,"not_conversions":1,"dedupe_hits":1,"#
            + #""consent_drops":0,"sent":\#(sent),"failed":\#(failed),"expired":0,"#
            + #""dead_letters":0,"pending":1,"crm_sent":1,"crm_failed":0,"crm_pending":0}"#
    }

    static let destinations =
        #"[{"name":"capi 880000000000001","kind":"capi","dataset":"880000000000001","#
        + #""last_success_at":"2026-12-03T12:00:00.300Z","last_error":null,"backlog":1,"#
        + #""paused":false},{"name":"crm","kind":"crm","last_success_at":null,"#
        + #""last_error":{"at":"2026-12-03T12:00:02.000Z","status":503,"code":null,"#
        + #""subcode":null,"message":"crm unavailable"},"backlog":0,"paused":true}]"#

    static let received =
        #"{"type":"record","seq":1,"time":"2026-12-03T12:00:00.100Z","stage":"received","#
        + #""source":"messenger","delivery_id":"dlv-1","items":2}"#

    static let mappedLead =
        #"{"type":"record","seq":2,"time":"2026-12-03T12:00:00.200Z","stage":"mapped","#
        + #""event_id":"cr1.lead0001","event_name":"Lead","dataset":"880000000000001","#
        + #""rule":"guide-lead","page_id":"104857600000001","psid":"7310000000000001"}"#

    static let sentLead =
        #"{"type":"record","seq":3,"time":"2026-12-03T12:00:00.300Z","stage":"sent","#
        + #""destination":"capi","dataset":"880000000000001","event_ids":["cr1.lead0001"],"#
        + #""events_received":1,"fbtrace_id":"AfbTrace1","status":200}"#

    /// The CRM took the lead's post while its CAPI delivery is still pending.
    static let sentLeadToCRM =
        #"{"type":"record","seq":3,"time":"2026-12-03T12:00:00.300Z","stage":"sent","#
        + #""destination":"crm","dataset":"880000000000001","event_ids":["cr1.lead0001"],"#
        + #""events_received":null,"fbtrace_id":null,"status":200}"#

    static let alreadyQueued =
        #"{"type":"reply","command":"resend","ok":false,"error":{"code":"already_queued","#
        + #""message":"event cr1.lead0001 is still queued for delivery; there is nothing to"#
        + #" re-send yet"}}"#

    static let dedupeHit =
        #"{"type":"record","seq":4,"time":"2026-12-03T12:00:00.400Z","stage":"dedupe_hit","#
        + #""event_id":"cr1.lead0001","event_name":"Lead","dataset":"880000000000001","#
        + #""rule":"guide-lead","matched_event_id":"cr1.lead0001","source":"redelivery"}"#

    static let purchaseFailed =
        #"{"type":"record","seq":5,"time":"2026-12-03T12:00:01.000Z","stage":"attempt_failed","#
        + #""destination":"capi","dataset":"880000000000001","event_ids":["cr1.buy00002"],"#
        + #""status":400,"code":100,"subcode":2804003,"message":"Invalid parameter","#
        + #""next_retry_at":null}"#

    static let consentDropped =
        #"{"type":"record","seq":6,"time":"2026-12-03T12:00:01.100Z","#
        + #""stage":"consent_dropped","event_id":"cr1.sub00003","fields":["em","ph"]}"#

    static func record(seq: Int, stage: String = "queued", eventID: String) -> String {
        #"{"type":"record","seq":\#(seq),"time":"2026-12-03T12:00:05.000Z","stage":"\#(stage)","#
            + #""event_id":"\#(eventID)","destination":"capi"}"#
    }

    /// The inspect reply for the delivered lead.
    static let inspectLead =
        #"{"type":"reply","command":"inspect","ok":true,"result":{"event_id":"cr1.lead0001","#
        + #""inbound":{"object":"page","entry":[{"id":"104857600000001"}]},"#
        + #""conversion":{"event_name":"Lead","rule":"guide-lead"},"#
        + #""outbound":{"data":[{"action_source":"business_messaging","event_id":"cr1.lead0001","#
        + #""event_name":"Lead","messaging_channel":"messenger"}],"partner_agent":"capi-relay"},"#
        + #""crm":{"event_id":"cr1.lead0001"},"#
        + #""attempts":[{"destination":"capi","started_at":"2026-12-03T12:00:00.250Z","#
        + #""status":200,"outcome":"sent","response":"{\"events_received\":1}"}],"#
        + #""state":{"capi":"sent","crm":"sent"}}}"#

    static let resendOK = #"{"type":"reply","command":"resend","ok":true,"result":{}}"#

    static let alreadyDelivered =
        #"{"type":"reply","command":"resend","ok":false,"error":{"code":"already_delivered","#
        + #""message":"event cr1.lead0001 was delivered; add confirm to send it again"}}"#

    /// The whole opening of a connection, with the first three records in the snapshot.
    static var opening: [String] {
        [hello, snapshot(records: [received, mappedLead, sentLead])]
    }

    /// A fake relay that answers inspect and resend as the relay does.
    static func replies(_ line: String) -> [String] {
        if line.hasPrefix("inspect ") { return [inspectLead] }
        if line.hasPrefix("resend ") && line.hasSuffix(" confirm") { return [resendOK] }
        if line.hasPrefix("resend ") { return [alreadyDelivered] }
        return [#"{"type":"reply","command":"?","ok":false,"error":{"code":"bad_command"}}"#]
    }

    /// A socket path short enough for sun_path, unique per test.
    static func socketPath() -> String {
        "/tmp/crc-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
    }
}

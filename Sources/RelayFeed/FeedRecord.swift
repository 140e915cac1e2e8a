import Foundation
import RelayCore

/// The stages a feed record can describe, one word each, as the console and `jq` filters see
/// them.
public enum FeedStage: String, Sendable, CaseIterable {
    /// A delivery was accepted and journaled.
    case received
    /// A signal became a conversion.
    case mapped
    case notConversion = "not_conversion"
    case dedupeHit = "dedupe_hit"
    /// Fields were removed for lack of consent (field names only, never values).
    case consentDropped = "consent_dropped"
    /// A conversion is waiting for a destination.
    case queued
    case sent
    case attemptFailed = "attempt_failed"
    case expired
    case deadLettered = "dead_lettered"
    case resent
    /// A batch refused for its content was split to isolate the bad events.
    case bisected
    /// A destination stopped sending: its credentials were refused (an alert).
    case paused
    /// A paused destination sends again, after a config reload.
    case resumed
    /// Several attempts in a row failed: the destination is down.
    case outage
    /// The first success after an outage.
    case recovered
}

/// One line of the feed: a stage of the pipeline, numbered in the order it happened.
public struct FeedRecord: Sendable, Equatable {
    /// Increases by one per record across the relay's life; a gap tells a client it missed
    /// records.
    public var sequence: UInt64
    /// Epoch milliseconds.
    public var timeMillis: Int64
    public var stage: FeedStage
    /// The stage's own fields: ids, names, codes and counts, never secrets, personal data or
    /// message text.
    public var fields: [String: JSONValue]

    public init(sequence: UInt64, timeMillis: Int64, stage: FeedStage, fields: [String: JSONValue])
    {
        self.sequence = sequence
        self.timeMillis = timeMillis
        self.stage = stage
        self.fields = fields
    }

    /// The record as the feed sends it.
    public var json: JSONValue {
        var object = fields
        object["type"] = "record"
        object["seq"] = .integer(Int64(sequence))
        object["time"] = .string(FeedRecord.timestamp(timeMillis))
        object["stage"] = .string(stage.rawValue)
        return .object(object)
    }

    /// `json.serialized()`, written straight from the record: a busy feed sends thousands
    /// a second, and building each record's object first cost as much again.
    public func serialized() -> [UInt8] {
        // The record's own members, where a field of the same name would be overwritten;
        // `time` (nil here) is written as its timestamp.
        let own: [(key: String, value: JSONValue?)] = [
            ("seq", .integer(Int64(sequence))), ("stage", .string(stage.rawValue)),
            ("time", nil), ("type", "record"),
        ]
        var members = own
        members.reserveCapacity(own.count + fields.count)
        for (key, value) in fields
        where key != "seq" && key != "stage" && key != "time" && key != "type" {
            members.append((key, value))
        }
        members.sort { $0.key < $1.key }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(member.key, to: &out)
            out.append(UInt8(ascii: ":"))
            if let value = member.value {
                value.write(to: &out)
            } else {
                out.append(UInt8(ascii: "\""))
                FeedRecord.writeTimestamp(timeMillis, to: &out)
                out.append(UInt8(ascii: "\""))
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `2026-12-03T12:00:00.123Z`.
    public static func timestamp(_ millis: Int64) -> String {
        var out: [UInt8] = []
        writeTimestamp(millis, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func writeTimestamp(_ millis: Int64, to out: inout [UInt8]) {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ width: Int) {
            var divisor: Int32 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(parts.tm_year + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2)
        out.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2)
        out.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2)
        out.append(UInt8(ascii: "."))
        digits(Int32(millis % 1000), 3)
        out.append(UInt8(ascii: "Z"))
    }
}

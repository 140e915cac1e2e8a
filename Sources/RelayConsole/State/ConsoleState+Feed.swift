import RelayCore

extension ConsoleState {
    /// The connection to the relay was made; the hello and snapshot follow.
    public mutating func connected() {
        connection = .connected
    }

    /// The connection failed or was lost; the driver retries at `retryAt` (seconds since 1970).
    public mutating func disconnected(reason: String, retryAt: Double) {
        connection = .disconnected(reason: reason, retryAt: retryAt)
        // A reply can no longer come on this connection, so stop waiting for it.
        if case .inspect(var view) = mode, view.result == nil, view.error == nil {
            view.error = "The connection to the relay was lost before it answered."
            mode = .inspect(view)
        }
        awaitingInspect = nil
        awaitingResend = nil
    }

    /// Applies one message from the feed. `now` is seconds since 1970, for rates and notices.
    public mutating func apply(_ message: FeedMessage, now: Double) {
        switch message {
        case .hello(let hello):
            self.hello = hello
            connection = .connected
        case .snapshot(let stats, let records):
            // A snapshot starts a connection afresh: what the console showed before a
            // reconnect may have gaps, and the relay's last N records replace it.
            flow.removeAll()
            held.removeAll()
            failures.removeAll()
            selectedID = nil
            lastSample = nil
            rates = [:]
            applyStats(stats, now: now)
            for record in records { append(record) }
        case .record(let record):
            if isPaused {
                held.append(record)
                if held.count > Self.flowCapacity {
                    held.removeFirst(held.count - Self.flowCapacity)
                }
                noteSideEffects(of: record)
            } else {
                append(record)
            }
        case .stats(let stats):
            applyStats(stats, now: now)
        case .missed(let count):
            missedTotal += count
            appendEntry(.missed(count))
        case .reply(let reply):
            applyReply(reply, now: now)
        case .unrecognized:
            break
        }
    }

    private mutating func applyStats(_ stats: FeedStats, now: Double) {
        if let lastSample, now - lastSample.time > 0.2 {
            let elapsed = now - lastSample.time
            var rates: [String: Double] = [:]
            for (name, value) in stats.counters {
                let before = lastSample.counters[name] ?? value
                // A counter that went down means the relay restarted; no rate until next time.
                rates[name] = value >= before ? Double(value - before) / elapsed : 0
            }
            self.rates = rates
        }
        if lastSample == nil || now - lastSample!.time > 0.2 {
            lastSample = (now, stats.counters)
        }
        self.stats = stats
    }

    /// Appends a record that was held while paused; its side effects were noted on arrival.
    mutating func appendHeld(_ record: ReceivedRecord) {
        appendEntry(.record(record))
    }

    private mutating func append(_ record: ReceivedRecord) {
        noteSideEffects(of: record)
        appendEntry(.record(record))
    }

    /// What a record changes besides the flow: the failures list and the delivered set.
    private mutating func noteSideEffects(of record: ReceivedRecord) {
        if record.isFailure {
            failures.insert(record, at: 0)
            if failures.count > Self.failureCapacity { failures.removeLast() }
        }
        // The relay's already_delivered check reads the CAPI state alone: an event whose CRM
        // post succeeded while its CAPI delivery is pending is not delivered.
        if record.stage == .sent && record.text("destination") == "capi" {
            // Bounded by clearing rather than by age: forgetting only means the relay, which
            // checks again, answers already_delivered and the console asks once more.
            if deliveredEventIDs.count > 200_000 { deliveredEventIDs.removeAll() }
            deliveredEventIDs.formUnion(record.eventIDs)
        }
    }

    private mutating func appendEntry(_ content: FlowEntry.Content) {
        flow.append(FlowEntry(id: nextEntryID, content: content))
        nextEntryID += 1
        if flow.count > Self.flowCapacity {
            flow.removeFirst(flow.count - Self.flowCapacity)
        }
    }

    private mutating func applyReply(_ reply: FeedReply, now: Double) {
        switch reply.command {
        case "inspect":
            guard case .inspect(var view) = mode else { return }
            if reply.ok {
                view.result = reply.result
                if reply.result["state"]?["capi"]?.stringValue == "sent" {
                    deliveredEventIDs.insert(view.eventID)
                }
            } else {
                view.error = Self.describe(reply)
            }
            mode = .inspect(view)
            awaitingInspect = nil
        case "resend":
            let eventID = awaitingResend ?? "the event"
            awaitingResend = nil
            if reply.ok {
                post("Re-send queued for \(eventID).", now: now)
            } else if reply.errorCode == "already_delivered" {
                // The relay knows better than the console's flow: ask again, naming it.
                deliveredEventIDs.insert(eventID)
                mode = .confirmResend(eventID: eventID, alreadyDelivered: true)
            } else {
                post(
                    "Re-send refused: \(Self.resendRefusal(reply)) (\(eventID))",
                    detail: "Re-send of \(eventID) refused: \(Self.describe(reply))",
                    warning: true, now: now)
            }
        default:
            if !reply.ok {
                post("The relay refused: \(Self.describe(reply))", warning: true, now: now)
            }
        }
    }

    /// A refused re-send in a few words, to lead the status line; the relay's whole message
    /// goes to the notice's detail.
    static func resendRefusal(_ reply: FeedReply) -> String {
        switch reply.errorCode {
        case "already_queued": "still queued for CAPI — nothing to re-send yet"
        case "unknown_event": "no conversion has this event_id"
        case "journal_error": "the relay's journal could not be written"
        default: describe(reply)
        }
    }

    private static func describe(_ reply: FeedReply) -> String {
        let code = reply.errorCode ?? "error"
        guard let message = reply.errorMessage, !message.isEmpty else { return code }
        return "\(message) (\(code))"
    }
}

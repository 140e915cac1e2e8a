import Foundation

extension ConsoleState {
    /// Handles one key press and returns what the driver must do.
    ///
    /// Overlays take keys first: a confirmation, the search prompt and help each decide on
    /// their own keys before the binding table is consulted.
    public mutating func handle(_ key: Key, now: Double) -> [ConsoleAction] {
        if key == .resize { return [] }
        switch mode {
        case .help:
            if key == .character("?") || key == .escape || key == .character("q") {
                mode = .flow
            }
            return []
        case .searching(let text):
            handleSearchKey(key, text: text)
            return []
        case .confirmResend(let eventID, let alreadyDelivered):
            mode = previousModeAfterConfirm
            guard key == .character("y") || key == .character("Y") else {
                post("Re-send of \(eventID) cancelled; nothing was sent.", now: now)
                return []
            }
            awaitingResend = eventID
            post("Asked the relay to re-send \(eventID)…", now: now)
            return [.send(alreadyDelivered ? "resend \(eventID) confirm" : "resend \(eventID)")]
        case .inspect:
            return handleBinding(key, context: .inspect, now: now)
        case .flow:
            return handleBinding(key, context: .flow, now: now)
        }
    }

    /// Where a confirmation returns to: the inspect view it was started from, or the flow.
    private var previousModeAfterConfirm: Mode {
        if let returnView = confirmReturnView { return .inspect(returnView) }
        return .flow
    }

    private mutating func handleSearchKey(_ key: Key, text: String) {
        switch key {
        case .enter:
            search = text.trimmingCharacters(in: .whitespaces)
            selectedID = nil
            mode = .flow
        case .escape:
            mode = .flow
        case .backspace:
            mode = .searching(String(text.dropLast()))
        case .character(let character) where !character.isNewline:
            mode = .searching(text + String(character))
        default:
            break
        }
    }

    private mutating func handleBinding(
        _ key: Key, context: Binding.Context, now: Double
    ) -> [ConsoleAction] {
        guard let command = bindings.command(for: key, in: context) else {
            if let reason = bindings.disabledReason(for: key, in: context) {
                post(reason, warning: true, now: now)
            }
            return []
        }
        return run(command, now: now)
    }

    /// Runs a command from the binding table.
    public mutating func run(_ command: CommandID, now: Double) -> [ConsoleAction] {
        if case .inspect(var view) = mode {
            return runInInspect(command, view: &view, now: now)
        }
        switch command {
        case .moveUp: moveSelection(by: -1)
        case .moveDown: moveSelection(by: 1)
        case .pageUp: moveSelection(by: -max(pageSize - 1, 1))
        case .pageDown: moveSelection(by: max(pageSize - 1, 1))
        case .top: selectedID = visibleFlow.first?.id
        case .bottom: selectedID = nil
        case .filterCycle:
            let all = FlowFilter.allCases
            setFilter(all[(all.firstIndex(of: filter)! + 1) % all.count])
        case .filterAll: setFilter(.all)
        case .filterFailed: setFilter(.failed)
        case .filterDedupe: setFilter(.dedupe)
        case .filterConsent: setFilter(.consent)
        case .search: mode = .searching(search)
        case .clearSearch:
            search = ""
            selectedID = nil
        case .inspect:
            guard let eventID = selectedEventID(now: now, verb: "inspect") else { return [] }
            confirmReturnView = nil
            mode = .inspect(InspectView(eventID: eventID))
            awaitingInspect = eventID
            return [.send("inspect \(eventID)")]
        case .resend:
            guard let eventID = selectedEventID(now: now, verb: "re-send") else { return [] }
            confirmReturnView = nil
            mode = .confirmResend(
                eventID: eventID, alreadyDelivered: deliveredEventIDs.contains(eventID))
        case .togglePause:
            isPaused.toggle()
            if !isPaused {
                let resumed = held
                held.removeAll()
                for record in resumed { appendHeld(record) }
            }
        case .cycleTheme:
            themeIndex = (themeIndex + 1) % themeNames.count
            post("Theme: \(themeName)", now: now)
            return [.applyTheme(themeName)]
        case .help: mode = .help
        case .quit: return [.quit]
        case .nextTab, .previousTab, .closeView: break
        }
        return []
    }

    private mutating func runInInspect(
        _ command: CommandID, view: inout InspectView, now: Double
    ) -> [ConsoleAction] {
        let tabs = InspectView.Tab.allCases
        let index = tabs.firstIndex(of: view.tab)!
        let lastLine = max(view.lines.count - 1, 0)
        switch command {
        case .nextTab:
            view.tab = tabs[(index + 1) % tabs.count]
            view.scroll = 0
        case .previousTab:
            view.tab = tabs[(index + tabs.count - 1) % tabs.count]
            view.scroll = 0
        case .moveUp: view.scroll = max(view.scroll - 1, 0)
        case .moveDown: view.scroll = min(view.scroll + 1, lastLine)
        case .pageUp: view.scroll = max(view.scroll - pageSize, 0)
        case .pageDown: view.scroll = min(view.scroll + pageSize, lastLine)
        case .resend:
            confirmReturnView = view
            mode = .confirmResend(
                eventID: view.eventID,
                alreadyDelivered: deliveredEventIDs.contains(view.eventID))
            return []
        case .closeView:
            mode = .flow
            return []
        default:
            break
        }
        mode = .inspect(view)
        return []
    }

    /// The selected record's event id, or nil after saying why there is none.
    private mutating func selectedEventID(now: Double, verb: String) -> String? {
        guard let entry = selectedEntry else {
            post("No record selected: the flow is empty.", warning: true, now: now)
            return nil
        }
        guard let eventID = entry.record?.primaryEventID else {
            let stage = entry.record?.rawStage ?? "missed-records note"
            post("Nothing to \(verb): this \(stage) line has no event_id.", warning: true, now: now)
            return nil
        }
        return eventID
    }

    private mutating func setFilter(_ newFilter: FlowFilter) {
        filter = newFilter
        selectedID = nil
    }

    private mutating func moveSelection(by offset: Int) {
        let visible = visibleFlow
        guard !visible.isEmpty else { return }
        let current = visible.firstIndex { $0.id == selectedEntry?.id } ?? visible.count - 1
        let target = min(max(current + offset, 0), visible.count - 1)
        // Reaching the newest line resumes following, as `tail -f` users expect.
        selectedID = target == visible.count - 1 ? nil : visible[target].id
    }
}

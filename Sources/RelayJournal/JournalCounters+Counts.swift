extension JournalCounters {
    /// The totals from the journal's named counts (the `journal_counts` table): `deliveries`,
    /// `signals.<outcome>`, `conversions`, `capi.<state>`, `crm.<state>`, `consent_drops`,
    /// `pixel_echoes` and `pixel_matched`. A name that is absent counts zero.
    init(counts: [String: Int]) {
        self.init()
        deliveries = counts["deliveries", default: 0]
        consentDrops = counts["consent_drops", default: 0]
        pixelEchoes = counts["pixel_echoes", default: 0]
        pixelMatched = counts["pixel_matched", default: 0]
        conversionsMade = counts["conversions", default: 0]

        for (name, count) in counts where name.hasPrefix("signals.") {
            received += count
            switch name.dropFirst("signals.".count) {
            case "conversion": conversions += count
            case "dedupe_hit":
                conversions += count
                dedupeHits += count
            default: notConversions += count
            }
        }

        capiPending = counts["capi.pending", default: 0]
        capiSent = counts["capi.sent", default: 0]
        capiExpired = counts["capi.expired", default: 0]
        capiFailed = counts["capi.failed", default: 0]
        capiShadow = counts["capi.shadow", default: 0]
        crmPending = counts["crm.pending", default: 0]
        crmSent = counts["crm.sent", default: 0]
        crmFailed = counts["crm.failed", default: 0] + counts["crm.expired", default: 0]
    }
}

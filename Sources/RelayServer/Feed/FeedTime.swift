import RelayFeed

/// Timestamps on the feed: ISO 8601 in UTC with milliseconds.
enum FeedTime {
    static func text(_ millis: Int64) -> String {
        FeedRecord.timestamp(millis)
    }
}

import Foundation
import RelayCore

/// Appending a delivery: the decisions (``JournalAppender``) in one savepoint of the writer's
/// shared transaction.
extension SQLiteJournal {
    // MARK: Appending

    public func append(
        _ delivery: InboundDelivery,
        completion: @escaping @Sendable (Result<AppendReceipt, JournalError>) -> Void
    ) {
        let box = ReceiptBox()
        var appender = JournalAppender(configuration: configuration)
        let made = MadeConversions()
        appender.made = made
        let recent = recentConversions
        writer.submit(
            { database in
                made.startOver()
                box.receipt = try appender.insert(delivery, into: database)
            },
            done: { error in
                if error == nil { recent.remember(made.items) }
                completion(box.result(error: error))
            })
    }
}

/// Carries the receipt from the write job (on the writer thread) to its completion (on the
/// completion thread, after the commit).
final class ReceiptBox: @unchecked Sendable {
    var receipt: AppendReceipt?

    /// What the append's caller hears once the transaction has committed or failed.
    func result(error: Error?) -> Result<AppendReceipt, JournalError> {
        if let error {
            return .failure(
                error as? JournalError
                    ?? JournalError(.commitFailed, "journal append failed: \(error)"))
        }
        guard let receipt else {
            return .failure(JournalError(.commitFailed, "append produced no receipt"))
        }
        return .success(receipt)
    }
}

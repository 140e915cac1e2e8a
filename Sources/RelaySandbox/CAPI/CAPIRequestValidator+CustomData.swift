import RelayCore
/// The rules for `custom_data` (reference §1.4).
extension CAPIRequestValidator {
    func validateCustomData(
        _ value: JSONValue?, eventName: JSONValue?, _ fault: EventFault
    ) throws(GraphError) {
        let isPurchase = eventName?.stringValue == "Purchase"
        let purchaseFix =
            "Purchase events need custom_data.value (a number) and "
            + "custom_data.currency (ISO 4217, e.g. USD)."

        guard let value else {
            if isPurchase {
                throw fault.missing(
                    "custom_data", "Purchase events need value and currency", fix: purchaseFix)
            }
            return
        }
        guard case .object(let customData) = value else {
            throw fault.wrongType("custom_data", expected: "an object", got: value)
        }

        if let amount = customData["value"] {
            guard amount.numberValue != nil else {
                throw fault.wrongType("custom_data.value", expected: "a number", got: amount)
            }
        } else if isPurchase {
            throw fault.missing(
                "custom_data.value", "Purchase events need a value", fix: purchaseFix)
        }

        if let currency = customData["currency"] {
            guard case .string(let code) = currency, code.utf8.count == 3,
                code.utf8.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) })
            else {
                throw fault.invalid(
                    "custom_data.currency",
                    "expected a 3-letter ISO 4217 code such as \"USD\", got \(describe(currency))",
                    fix: "Send the currency as its three-letter code."
                )
            }
        } else if isPurchase {
            throw fault.missing(
                "custom_data.currency", "Purchase events need a currency", fix: purchaseFix)
        }

        if let contents = customData["contents"] {
            guard case .array(let items) = contents, items.allSatisfy({ $0.objectValue != nil })
            else {
                throw fault.wrongType(
                    "custom_data.contents", expected: "an array of objects ({id, quantity, …})",
                    got: contents
                )
            }
        }
        if let ids = customData["content_ids"] {
            guard case .array(let items) = ids,
                items.allSatisfy({ $0.stringValue != nil || $0.integerValue != nil })
            else {
                throw fault.wrongType(
                    "custom_data.content_ids", expected: "an array of IDs", got: ids)
            }
        }
        if let count = customData["num_items"], count.integerValue == nil {
            throw fault.wrongType("custom_data.num_items", expected: "an integer", got: count)
        }
    }
}

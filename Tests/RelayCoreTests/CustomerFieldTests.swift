import Testing

@testable import RelayCore

@Suite struct CustomerFieldTests {
    @Test func everyHashedKeyIsAField() {
        let keys = Set(CustomerField.allCases.map(\.key))
        #expect(
            keys == [
                "em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id",
            ])
    }

    @Test func metasDoNotHashKeysAreRefused() {
        let keys = [
            "client_ip_address", "client_user_agent", "fbc", "fbp", "page_id",
            "page_scoped_user_id", "lead_id", "ctwa_clid", "subscription_id", "fb_login_id",
        ]
        for key in keys {
            #expect(CustomerField.isNeverHashed(key))
            #expect(CustomerField(key: key) == nil)
            guard case .failure(let reason) = Normalizer().hash(key: key, "203.0.113.7") else {
                Issue.record("\(key) was hashed")
                continue
            }
            #expect(reason.code == .neverHashed)
        }
        #expect(!CustomerField.isNeverHashed("em"))
    }

    @Test func hashByKeyHashesAHashedKey() throws {
        let hash = try Normalizer().hash(key: "em", "John_Smith@gmail.com").get()
        #expect(hash == "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")
    }

    @Test func anAlreadyHashedValuePassesThroughLowercasedOnEveryField() {
        let upper = String(repeating: "ABCDEF0123456789", count: 4)
        for field in CustomerField.allCases {
            #expect(
                Normalizer().normalize(field, " \(upper) ") == .alreadyHashed(upper.lowercased()))
            #expect(hashed(field, upper) == upper.lowercased())
        }
    }

    @Test func anMD5IsNotTakenForAHash() {
        let md5 = String(repeating: "a", count: 32)
        #expect(dropCode(.email, md5) == .invalidEmail)
    }

    @Test func emptyAndBlankValuesAreDroppedOnEveryField() {
        for field in CustomerField.allCases {
            #expect(dropCode(field, "") == .empty)
            #expect(dropCode(field, "  \t ") == .empty)
        }
    }

    @Test func valuesThatCleanDownToNothingAreDroppedNotHashed() {
        #expect(dropCode(.firstName, "'-.") == .empty)
        #expect(dropCode(.city, "12345") == .empty)
        #expect(dropCode(.state, "..") == .empty)
        #expect(dropCode(.zip, " - ") == .empty)
        #expect(hashed(.firstName, "'-.") == nil)
    }

    @Test func dropReasonsNeverQuoteTheValue() {
        let secret = "Zebediah"
        let cases: [(CustomerField, String)] = [
            (.email, "\(secret)@"), (.phone, "\(secret)"), (.country, secret),
            (.gender, secret), (.dateOfBirth, "\(secret) 31 1997"),
        ]
        for (field, raw) in cases {
            guard case .dropped(let reason) = Normalizer().normalize(field, raw) else {
                Issue.record("\(field.key) kept an invalid value")
                continue
            }
            #expect(!reason.description.lowercased().contains(secret.lowercased()))
        }
    }

    @Test func externalIDIsTrimmedAndHashedByDefault() throws {
        #expect(normalized(.externalID, "  CRM-00017 ") == "CRM-00017")
        let wire = try Normalizer().wireValue(.externalID, "CRM-00017").get()
        #expect(wire == Crypto.sha256Hex("CRM-00017"))
    }

    @Test func externalIDGoesRawWhenHashingIsOff() throws {
        let normalizer = Normalizer(hashesExternalID: false)
        #expect(try normalizer.wireValue(.externalID, " CRM-00017 ").get() == "CRM-00017")
        // Other fields are hashed whatever the external_id setting.
        #expect(
            try normalizer.wireValue(.firstName, "Mary").get()
                == "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec")
    }
}

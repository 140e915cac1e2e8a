import Testing

@testable import RelayCore

@Suite struct NormalizerEmailTests {
    @Test func metasDocumentedExample() {
        #expect(normalized(.email, "John_Smith@gmail.com") == "john_smith@gmail.com")
        #expect(
            hashed(.email, "John_Smith@gmail.com")
                == "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f")
    }

    @Test func trimsAndLowercases() {
        #expect(normalized(.email, "  Foo.Bar@Example.COM \n") == "foo.bar@example.com")
    }

    @Test func acceptsWhatThePythonSDKTestsAccept() {
        #expect(normalized(.email, "a@b.c") == "a@b.c")
        #expect(normalized(.email, "\"a b\"@c.d") == "\"a b\"@c.d")
        #expect(normalized(.email, "f`oo@bar.com") == "f`oo@bar.com")
    }

    @Test func dropsWhatThePythonSDKTestsReject() {
        for raw in ["a", "abc", "a@b", "@b.c", ".c", "@"] {
            #expect(dropCode(.email, raw) == .invalidEmail, "\(raw)")
        }
    }

    @Test func dropsMalformedAddressesThePHPSDKRepairs() {
        // PHP strips characters to get foo.bar@baz.com and foo@bar.com. Meta documents only trim
        // and lowercase; an edited address can be somebody else's, so these are dropped.
        #expect(dropCode(.email, "foo(.bar)@baz.com/") == .invalidEmail)
        #expect(dropCode(.email, "foo\"@bar.com") == .invalidEmail)
    }

    @Test func dropsAddressesWithSpacesOrDoubleDots() {
        #expect(dropCode(.email, "john smith@gmail.com") == .invalidEmail)
        #expect(dropCode(.email, "john..smith@gmail.com") == .invalidEmail)
        #expect(dropCode(.email, "john@gmail..com") == .invalidEmail)
    }
}

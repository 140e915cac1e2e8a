import Foundation
import Testing

@testable import RelayCore

/// Our hashes against the official Python SDK's, on inputs where its rules match Meta's.
///
/// The vectors were produced by `Vectors/make_sdk_vectors.py` running `facebook-business`;
/// the JSON is checked in so this test needs neither Python nor the SDK.
@Suite struct PythonSDKVectorTests {
    struct VectorFile: Decodable {
        struct Vector: Decodable {
            let field: String
            let input: String
            let hash: String
        }
        let sdk: String
        let vectors: [Vector]
    }

    @Test func ourHashesEqualThePythonSDKs() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/python-sdk-vectors.json")
        let file = try JSONDecoder().decode(VectorFile.self, from: Data(contentsOf: url))
        #expect(file.vectors.count >= 40)
        for vector in file.vectors {
            let field = try #require(CustomerField(key: vector.field), "\(vector.field)")
            let ours = try? Normalizer().hash(field, vector.input).get()
            #expect(ours == vector.hash, "\(vector.field) \(vector.input) (\(file.sdk))")
        }
    }
}

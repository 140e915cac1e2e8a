#ifndef CAPI_RELAY_COPENSSL_SHIM_H
#define CAPI_RELAY_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <string.h>

/* SHA-256 of a short buffer, through OpenSSL's direct SHA-256 functions.
 *
 * OpenSSL 3's one-shot SHA256() looks the algorithm up by name on every call, which costs
 * about nine times the hash itself for the short values the relay hashes (760 ns against
 * 82 ns for a 26-byte email on this machine's SHA-NI core). The direct functions are
 * deprecated in favour of providers, but they are the same default implementation without
 * the lookup; the warning is silenced here, in one place. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline void capi_relay_sha256(const unsigned char *data, size_t count,
                                     unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, count);
    SHA256_Final(digest, &context);
}

/* HMAC-SHA256 (RFC 2104) through the same direct functions.
 *
 * OpenSSL 3's one-shot HMAC() fetches the MAC and the digest by name on every call: about
 * 28,000 instructions for a 1 KB webhook body, three times the two hashes themselves, and the
 * relay checks a signature on every webhook. RFC 4231's vectors hold this to the standard
 * (CryptoTests). */
static inline void capi_relay_hmac_sha256(const unsigned char *key, size_t key_count,
                                          const unsigned char *data, size_t count,
                                          unsigned char *digest) {
    unsigned char block[64] = {0};
    unsigned char pad[64];
    unsigned char inner[32];
    SHA256_CTX context;
    if (key_count > sizeof(block)) {
        capi_relay_sha256(key, key_count, block);
    } else if (key_count > 0) {
        memcpy(block, key, key_count);
    }
    for (size_t index = 0; index < sizeof(block); index++) pad[index] = block[index] ^ 0x36;
    SHA256_Init(&context);
    SHA256_Update(&context, pad, sizeof(pad));
    SHA256_Update(&context, data, count);
    SHA256_Final(inner, &context);
    for (size_t index = 0; index < sizeof(block); index++) pad[index] = block[index] ^ 0x5c;
    SHA256_Init(&context);
    SHA256_Update(&context, pad, sizeof(pad));
    SHA256_Update(&context, inner, sizeof(inner));
    SHA256_Final(digest, &context);
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(&context, sizeof(context));
}
#pragma GCC diagnostic pop
#endif

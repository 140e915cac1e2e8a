#ifndef CAPI_RELAY_COPENSSL_SHIM_H
#define CAPI_RELAY_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#endif

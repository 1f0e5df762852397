/*
 * hash.c -- SHA-256 through OpenSSL's EVP interface, and hex coding.
 */
#include <string.h>

#include <openssl/evp.h>

#include "hash.h"

hs_err hs_hash_sha256_hex(const void *data, size_t len, char hex[65])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return HS_EIO;
    hs_hash_to_hex(md, 32, hex);
    return HS_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

hs_err hs_hash_from_hex(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64)
        return HS_EINVAL;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return HS_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return HS_OK;
}

void hs_hash_to_hex(const uint8_t *bytes, size_t len, char *hex)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * len] = '\0';
}

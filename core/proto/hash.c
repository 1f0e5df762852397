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

/* 1 + digit value, 1 + 16 + value for 'A'-'F' (so that upper case
 * shows), 0 for anything else. A table: ids are parsed for every
 * envelope. */
static const unsigned char hexval[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 27, ['B'] = 28, ['C'] = 29, ['D'] = 30, ['E'] = 31, ['F'] = 32,
};

int hs_hash_hex_digit(char c)
{
    unsigned char v = hexval[(unsigned char)c];

    return v ? (v - 1) & 15 : -1;
}

/* Parses 64 hex digits; *upper gets whether any was upper case. */
static hs_err from_hex(const char *hex, uint8_t out[32], int *upper)
{
    int seen = 0;

    if (strlen(hex) != 64)
        return HS_EINVAL;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval[(unsigned char)hex[2 * i]] - 1,
            lo = hexval[(unsigned char)hex[2 * i + 1]] - 1;
        if (hi < 0 || lo < 0)
            return HS_EINVAL;
        seen |= hi | lo;
        out[i] = (uint8_t)((hi & 15) << 4 | (lo & 15));
    }
    *upper = (seen & 16) != 0;
    return HS_OK;
}

hs_err hs_hash_from_hex(const char *hex, uint8_t out[32])
{
    int upper;
    return from_hex(hex, out, &upper);
}

hs_err hs_hash_parse_id(const char *hex, uint8_t bin[32], char canon[65])
{
    int upper;
    hs_err err = from_hex(hex, bin, &upper);

    if (err != HS_OK)
        return err;
    if (upper)
        hs_hash_to_hex(bin, 32, canon);
    else
        memcpy(canon, hex, 65);
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

/* SipHash-2-4 (Aumasson and Bernstein), little-endian reads as the
 * reference; about 1.5 ns a byte, ample for peer ids and URLs. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint64_t hs_hash_siphash(const uint64_t key[2], const void *data, size_t len)
{
    const uint8_t *p = data, *end = p + (len & ~(size_t)7);
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0], v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0], v3 = 0x7465646279746573ULL ^ key[1];
    uint64_t m, b = (uint64_t)len << 56;

    for (; p != end; p += 8) {
        m = load_le64(p);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

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

#define ONES 0x0101010101010101u
#define HIGH (ONES * 0x80)

/* Bytes of v (each below 0x80) in [lo, hi]: 0x80 in each such byte. */
#define IN_RANGE(v, lo, hi) (((v) + ONES * (0x80 - (lo))) & ~((v) + ONES * (0x7f - (hi))) & HIGH)

/* The 8 hex digits at hex into 4 bytes, 8 at a time in a word (ids are
 * read for every lazy offer, digest and envelope: byte by byte through
 * the table this was 600 instructions an id). -1 if one is not a hex
 * digit; *upper gets a bit if one was upper case. Little-endian words
 * only (hex_word's caller checks). */
static int hex_word(const char *hex, uint8_t out[4], uint64_t *upper)
{
    uint64_t v, letters;

    memcpy(&v, hex, 8);
    if (v & HIGH)
        return -1;
    letters = IN_RANGE(v | ONES * 0x20, 0x61, 0x66);
    if ((IN_RANGE(v, 0x30, 0x39) | letters) != HIGH)
        return -1;
    *upper |= letters & ~(v << 2); /* bit 5 clear: upper case */
    /* A digit's value is its low nibble; a letter's, that plus 9. */
    uint64_t nib = (v & ONES * 0x0f) + (letters >> 7) * 9;
    uint64_t pairs = ((nib << 4) | (nib >> 8)) & 0x00ff00ff00ff00ffu;
    out[0] = (uint8_t)pairs;
    out[1] = (uint8_t)(pairs >> 16);
    out[2] = (uint8_t)(pairs >> 32);
    out[3] = (uint8_t)(pairs >> 48);
    return 0;
}

int hs_hash_hex8(const char *hex, uint32_t *out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t up = 0;
    uint8_t b[4];

    if (hex_word(hex, b, &up) != 0 || (up & HIGH))
        return -1;
    *out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
#else
    uint32_t v = 0;

    for (size_t i = 0; i < 8; i++) {
        unsigned d = hexval[(unsigned char)hex[i]];
        if (d == 0 || d > 16)
            return -1;
        v = v << 4 | (d - 1);
    }
    *out = v;
    return 0;
#endif
}

/* Reads the 64 hex digits at hex (no NUL needed); *upper gets whether any
 * was upper case. */
static hs_err from_hex64(const char *hex, uint8_t out[32], int *upper)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t up = 0;

    for (size_t i = 0; i < 8; i++)
        if (hex_word(hex + 8 * i, out + 4 * i, &up) != 0)
            return HS_EINVAL;
    *upper = (up & HIGH) != 0;
    return HS_OK;
#else
    unsigned seen = 0;

    for (size_t i = 0; i < 32; i++) {
        unsigned hi = (unsigned)hexval[(unsigned char)hex[2 * i]] - 1,
                 lo = (unsigned)hexval[(unsigned char)hex[2 * i + 1]] - 1;
        seen |= hi | lo;
        out[i] = (uint8_t)((hi & 15) << 4 | (lo & 15));
    }
    if (seen & 0x80000000u)
        return HS_EINVAL;
    *upper = (seen & 16) != 0;
    return HS_OK;
#endif
}

/* Parses a NUL-terminated string of 64 hex digits. */
static hs_err from_hex(const char *hex, uint8_t out[32], int *upper)
{
    if (strnlen(hex, 65) != 64)
        return HS_EINVAL;
    return from_hex64(hex, out, upper);
}

hs_err hs_hash_from_hex(const char *hex, uint8_t out[32])
{
    int upper;
    return from_hex(hex, out, &upper);
}

hs_err hs_hash_from_hex64(const char *hex, uint8_t out[32])
{
    int upper;
    return from_hex64(hex, out, &upper);
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

/* Two digits a byte, one copy each: ids are written for every lazy
 * offer and digest. */
static const char hexpairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void hs_hash_to_hex(const uint8_t *bytes, size_t len, char *hex)
{
    for (size_t i = 0; i < len; i++)
        memcpy(hex + 2 * i, hexpairs + 2 * bytes[i], 2);
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

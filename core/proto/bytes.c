/*
 * bytes.c -- a growing, NUL-terminated byte buffer with a size cap.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

hs_err hs_bytes_append(char **buf, size_t *len, size_t *cap, size_t max, const void *p, size_t n)
{
    if (*len > max || n > max - *len)
        return HS_ETOOBIG;
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < *len + n + 1)
            c *= 2;
        if (c > max + 1)
            c = max + 1;
        char *b = realloc(*buf, c);
        if (!b)
            return HS_ENOMEM;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return HS_OK;
}

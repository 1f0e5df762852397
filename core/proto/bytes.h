/*
 * bytes.h -- a growing, NUL-terminated byte buffer with a size cap: what
 * the HTTP server, the HTTP client's parser and the libcurl client collect
 * bodies in.
 */
#ifndef HS_BYTES_H
#define HS_BYTES_H

#include <stddef.h>

#include "hearsay.h"

/*
 * Appends p[0..n) to *buf, which holds *len bytes in *cap (*buf NULL and
 * both 0 at first), and keeps it NUL-terminated. The capacity doubles
 * from 1 KiB and never exceeds max + 1. HS_ETOOBIG when the bytes would
 * pass max, HS_ENOMEM; either way the buffer is as it was.
 */
hs_err hs_bytes_append(char **buf, size_t *len, size_t *cap, size_t max, const void *p, size_t n);

#endif

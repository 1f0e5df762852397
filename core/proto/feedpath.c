/*
 * feedpath.c -- the feeders above a node (feedpath.h).
 */
#include "feedpath.h"

#include <stdio.h>
#include <string.h>

#include "hash.h"

uint32_t hs_feedpath_tag(const char *id)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *s = (const unsigned char *)id; *s; s++) {
        h ^= *s;
        h *= 16777619u;
    }
    return h;
}

int hs_feedpath_parse(const char *text, uint32_t *out, size_t max)
{
    size_t n = 0;
    const char *s = text;

    if (!*s)
        return 0;
    for (;;) {
        uint32_t tag;
        if (strnlen(s, 8) < 8 || hs_hash_hex8(s, &tag) != 0)
            return -1;
        if (n < max)
            out[n++] = tag;
        s += 8;
        if (!*s)
            return (int)n;
        if (*s != ',')
            return -1;
        s++;
    }
}

int hs_feedpath_has(const uint32_t *up, size_t n, uint32_t tag)
{
    for (size_t i = 0; i < n; i++)
        if (up[i] == tag)
            return 1;
    return 0;
}

const hs_feedway *hs_feedpath_find(const hs_feedpath *f, const char *id)
{
    for (size_t i = 0; i < HS_FEEDPATH_WAYS; i++)
        if (f->way[i].id[0] && strcmp(f->way[i].id, id) == 0)
            return &f->way[i];
    return NULL;
}

void hs_feedpath_set(hs_feedpath *f, const char *id, const uint32_t *up, size_t n, int said,
                     const char *keep, int (*gone)(const char *id, void *arg), void *arg)
{
    hs_feedway *w = (hs_feedway *)hs_feedpath_find(f, id);
    size_t len = strlen(id);

    if (len > HS_PEER_ID_MAX)
        return;
    for (size_t i = 0; !w && i < HS_FEEDPATH_WAYS; i++)
        if (!f->way[i].id[0])
            w = &f->way[i];
    for (size_t i = 0; !w && i < HS_FEEDPATH_WAYS; i++)
        if (gone(f->way[i].id, arg))
            w = &f->way[i];
    if (!w)
        w = &f->way[strcmp(f->way[0].id, keep) == 0 ? 1 : 0];
    memcpy(w->id, id, len + 1);
    if (n > HS_FEEDPATH_UP)
        n = HS_FEEDPATH_UP;
    w->n = (uint8_t)(said ? n : 0);
    w->said = (uint8_t)(said != 0);
    if (w->n)
        memcpy(w->up, up, w->n * sizeof *up);
}

void hs_feedpath_drop(hs_feedpath *f, const char *id)
{
    hs_feedway *w = (hs_feedway *)hs_feedpath_find(f, id);

    if (w)
        w->id[0] = '\0';
}

void hs_feedpath_write(const char *id, const hs_feedway *w, char out[HS_FEEDPATH_TEXT])
{
    size_t at = 0, n = w ? w->n : 0;

    if (n > HS_FEEDPATH_UP - 1)
        n = HS_FEEDPATH_UP - 1;
    at += (size_t)snprintf(out, HS_FEEDPATH_TEXT, "%08x", (unsigned)hs_feedpath_tag(id));
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, HS_FEEDPATH_TEXT - at, ",%08x", (unsigned)w->up[i]);
}

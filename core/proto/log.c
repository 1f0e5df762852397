/*
 * log.c -- what the log lines are made of: level names, and a message as
 * a JSON string for log_format "json" (the sinks that write them to
 * stderr, with the time, are core/net/logsink.c's). A message may hold
 * what a peer sent: bytes that are not UTF-8 become U+FFFD, so every line
 * is valid JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "node.h"

void hs_node_log(const hs_node *n, hs_log_level level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (level > n->cfg.log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    n->cfg.log(n->cfg.log_ud, level, n->id, buf);
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *hs_log_level_name(hs_log_level level)
{
    return (unsigned)level < 4 ? level_names[level] : "debug";
}

size_t hs_log_json_string(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;

    /* Room for the longest escape (6) and the closing quote and NUL. */
    if (cap < 9)
        return 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 8 < cap;) {
        unsigned char c = p[i];
        size_t k;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            out[o++] = (char)c;
            i++;
        } else if ((k = hs_utf8_seq(p + i, n - i)) && o + k + 8 < cap) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else if (k) {
            break; /* no room for it: cut here */
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\ufffd");
            i++;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

/*
 * log.c -- the default log sink (stderr): a text line, or with
 * log_format "json" one JSON object a line, {"time", "level", "node",
 * "message"}, for log shippers. A message may hold what a peer sent:
 * bytes that are not UTF-8 become U+FFFD, so every line is valid JSON.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "envelope.h"
#include "log.h"

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

void hs_log_stderr(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    char at[HS_CLOCK_STAMP_MAX], clean[1024];
    size_t i = 0;

    (void)ud;
    hs_clock_stamp(at);
    /* A message may quote what a peer sent: no control character reaches
     * a terminal (an escape sequence would be the peer's to write). */
    for (; msg[i] && i < sizeof clean - 1; i++)
        clean[i] = (unsigned char)msg[i] < 0x20 || msg[i] == 0x7f ? '?' : msg[i];
    clean[i] = '\0';
    fprintf(stderr, "%s hearsay[%.8s] %s: %s\n", at, node_id ? node_id : "-",
            hs_log_level_name(level), clean);
}

void hs_log_stderr_json(void *ud, hs_log_level level, const char *node_id, const char *msg)
{
    char at[HS_CLOCK_STAMP_MAX], node[HS_LOG_JSON_NODE], text[HS_LOG_JSON_TEXT];

    (void)ud;
    hs_clock_stamp(at);
    hs_log_json_string(node_id ? node_id : "", node, sizeof node);
    hs_log_json_string(msg, text, sizeof text);
    fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"node\":%s,\"message\":%s}\n", at,
            hs_log_level_name(level), node, text);
}

/*
 * logsink.c -- the log sinks a node on libuv writes to by default
 * (hearsay.h: hs_log_stderr, hs_log_stderr_json; hs_node_new picks one
 * by log_format), and the wall-clock stamp their lines carry.
 */
#include <stdio.h>

#include "log.h"
#include "realtime.h"

_Static_assert(HS_LOG_STAMP_MAX >= HS_CLOCK_STAMP_MAX, "a log stamp fits the public buffer");

void hs_log_stamp(char *out)
{
    hs_clock_stamp(out);
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

/*
 * log.h -- the default log sinks (log.c): text or JSON lines on stderr.
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stddef.h>

#include "hearsay.h"

/* Escaped room for a node id and a message (hs_node_log's 1 KiB, at
 * most 6 bytes each). */
#define HS_LOG_JSON_NODE 800
#define HS_LOG_JSON_TEXT 6200

/* "error", "warn", "info" or "debug". */
const char *hs_log_level_name(hs_log_level level);

/* s as a JSON string, quotes included, into out (cap bytes): escaped,
 * anything not UTF-8 as U+FFFD, cut (still a valid string) when it does
 * not fit. Returns its length (0 when cap is under 9). */
size_t hs_log_json_string(const char *s, char *out, size_t cap);

/* (hs_log_stderr and hs_log_stderr_json: hearsay.h.) */

#endif

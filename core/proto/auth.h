/*
 * auth.h -- cluster authentication: the keyring and the MAC that every
 * request between members carries in security modes "cluster" and
 * "signed" (README, Security: Cluster keys).
 *
 * A key is 32 random bytes, written as base64 (44 characters, with its
 * "=" padding; one spelling per key: hs_auth_key_parse refuses any
 * other). Its id is the first 8 lowercase hex characters of SHA-256 of
 * the 32 bytes. The keyring holds up to HS_KEYRING_MAX keys; the first,
 * the primary, signs what we send, and any of them verifies what we get.
 *
 * The header, on every request but GET /health:
 *
 *   X-Hearsay-Auth: v1 <keyid> <unix-ms> <nonce> <mac>
 *
 *   v1       the version of this scheme
 *   keyid    8 lowercase hex: the id of the key that signed
 *   unix-ms  the sender's clock, ms since the epoch: 1 to 15 decimal
 *            digits, no sign, no leading zero
 *   nonce    32 lowercase hex: 16 bytes that the sender never uses twice
 *            (hearsay: 8 random bytes drawn at start, then a counter)
 *   mac      64 lowercase hex: HMAC-SHA256(key, M)
 *
 * fields separated by exactly one space, nothing before or after. M is
 * the concatenation of eight netstrings, ns(x) = <length of x in decimal>
 * ":" x ",":
 *
 *   ns("hearsay-auth-v1") ns(method) ns(path) ns(query) ns(from)
 *   ns(unix-ms) ns(nonce) ns(body)
 *
 *   method   as sent ("GET", "POST")
 *   path     the request path, percent-decoded, without its query ("/"
 *            when empty)
 *   query    the covered query arguments (`covered` in auth.c: every one
 *            a route reads, /peers's `sample` and `url`) that are present
 *            with a value, in that (sorted) order, each as name "=" value
 *            where value is the argument decoded ("+" is a space, %XX a
 *            byte, as libmicrohttpd decodes it) and encoded again (bytes
 *            A-Z a-z 0-9 - . _ ~ as they are, any other as %XX, upper
 *            case hex), joined by "&"; "" when none. The first of
 *            repeated arguments counts, and a name without "=" is absent
 *            (again as libmicrohttpd has it)
 *   from     the X-Hearsay-From header's value without leading or
 *            trailing spaces and tabs; "" without the header
 *   unix-ms, nonce   the header's fields, as they are written there
 *   body     the request body as sent; "" when there is none
 *
 * The receiver refuses with 401 a request whose header is missing or
 * malformed, whose key id is not in its keyring, or whose timestamp is
 * more than auth_window from its own clock; with 403 one whose MAC is
 * wrong or whose nonce it has seen within the last 2 auth_windows (a
 * replay: a nonce is remembered as long as its timestamp can pass). The
 * MAC is compared in constant time, after the cheap checks, and nonces
 * are only remembered once their MAC verified, so a stranger cannot fill
 * the cache. Answers are not authenticated: TLS is what protects them.
 *
 * Cost: a MAC resets the key's ready HMAC context, feeds it the short
 * parts in one update and the body in another, and finalises: about 1 us
 * for a small request, then SHA-256's speed (1.7 GB/s here) for the body;
 * the replay cache is an hs_seen of the nonces, 51-62 bytes a nonce,
 * at most HS_AUTH_NONCES of them (about 17,000 requests a second at the
 * default 30 s window; past that a request is refused with 503 rather
 * than a live nonce forgotten).
 */
#ifndef HS_AUTH_H
#define HS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "hearsay.h"

#define HS_AUTH_HEADER "X-Hearsay-Auth"
/* The longest header value: "v1 " 8 " " 15 " " 32 " " 64. */
#define HS_AUTH_VALUE_MAX (3 + 8 + 1 + 15 + 1 + 32 + 1 + 64)
/* Nonces remembered at most (the replay cache's cap). */
#define HS_AUTH_NONCES (1u << 20)

typedef struct hs_auth hs_auth;

/* A new keyring holding keys[0..n) (the first primary; copied) and an
 * empty replay cache for a window of `window` s. HS_EINVAL when a key is
 * not one, two keys share an id, or n > HS_KEYRING_MAX. *out is freed
 * with hs_auth_free(). */
hs_err hs_auth_new(const char *const *keys, size_t n, double window, hs_auth **out);
void hs_auth_free(hs_auth *a);
/* The clock hs_auth_sign_request signs with (borrowed: it outlives a;
 * a node's own). Without one, that hook refuses every request. */
void hs_auth_set_clock(hs_auth *a, const hs_clock *clock);

/* Parses a key's text into its 32 bytes; HS_EINVAL unless it is exactly
 * the canonical base64 of 32 bytes. */
hs_err hs_auth_key_parse(const char *text, uint8_t raw[32]);

/* Keyring changes. Each computes the new list, hands it to the save
 * callback (when one is set), and makes the change only if that returns
 * HS_OK (else its error is returned and nothing changed). install: HS_OK
 * also when the key is there already (nothing to save), HS_EINVAL not a
 * key, HS_ETOOBIG full, HS_EDUP another key has its id. use: HS_ENOENT
 * when not installed. remove: HS_ENOENT, HS_ESTATE for the primary. */
hs_err hs_auth_install(hs_auth *a, const char *key);
hs_err hs_auth_use(hs_auth *a, const char *key);
hs_err hs_auth_remove(hs_auth *a, const char *key);
/* Writes up to max borrowed key texts to keys (primary first); returns
 * how many there are. */
size_t hs_auth_keys(const hs_auth *a, const char **keys, size_t max);
/* The save callback (hearsay.h: hs_node_keyring_on_save); NULL: none. */
void hs_auth_on_save(hs_auth *a, hs_keyring_save_fn fn, void *ud);

/*
 * The header value (no name, NUL-terminated) for a request, signed with
 * the primary key at `now_ms` with a fresh nonce. `target` is the request
 * target (path and query, target_len bytes; "" or "?..." means "/"),
 * `from` the X-Hearsay-From value or NULL. Returns the value's length, or
 * -1 when the keyring is empty, the target too long, or cap too small
 * (HS_AUTH_VALUE_MAX + 1 is enough).
 */
int hs_auth_sign(hs_auth *a, const char *method, const char *target, size_t target_len,
                 const char *from, const char *body, size_t len, int64_t now_ms, char *out,
                 size_t cap);

/*
 * The HTTP client's signing hook (hs_http_client_opts.sign; ud is the
 * hs_auth): the whole header line "X-Hearsay-Auth: ..." for a request
 * whose one extra header line is `header` (its X-Hearsay-From, if that is
 * what it is, is covered), signed now. Returns its length or -1.
 */
int hs_auth_sign_request(void *ud, const char *method, const char *target, size_t target_len,
                         const char *header, const char *body, size_t len, char *out, size_t cap);

typedef enum hs_auth_verdict {
    HS_AUTH_OK = 0,
    HS_AUTH_UNCHECKED,   /* all but the MAC passed: the body was too large
                            to keep, and the request will be refused (413) */
    HS_AUTH_MISSING,     /* 401: no X-Hearsay-Auth */
    HS_AUTH_MALFORMED,   /* 401 */
    HS_AUTH_UNKNOWN_KEY, /* 401: a key id not in our keyring */
    HS_AUTH_STALE,       /* 401: the timestamp is outside the window */
    HS_AUTH_BAD_MAC,     /* 403 */
    HS_AUTH_REPLAY,      /* 403: a nonce seen within the window */
    HS_AUTH_BUSY,        /* 503: the replay cache is full of live nonces */
} hs_auth_verdict;

/* A request's query arguments: the (decoded) value of `name`, or NULL. */
typedef const char *(*hs_auth_arg_fn)(void *ud, const char *name);

/*
 * Checks a request: `header` the X-Hearsay-Auth value (NULL when absent),
 * `from` the X-Hearsay-From value (NULL when absent), `arg` its query
 * arguments, `body` what arrived (too_large: it was discarded). now_ms
 * is our clock. A request that passes has its nonce remembered.
 */
hs_auth_verdict hs_auth_verify(hs_auth *a, const char *header, const char *method, const char *path,
                               hs_auth_arg_fn arg, void *arg_ud, const char *from, const char *body,
                               size_t len, int too_large, int64_t now_ms);

/* The HTTP status (401, 403, 503; 200 for OK) and the reason, in words. */
unsigned hs_auth_status(hs_auth_verdict v);
const char *hs_auth_reason(hs_auth_verdict v);

/* The canonical query (see above) of a request target's query string
 * (`query` up to its end, without the "?"), written to out; its length,
 * or -1 when it does not fit. For the signer and the tests. */
int hs_auth_canonical_query(const char *query, size_t len, char *out, size_t cap);

#endif

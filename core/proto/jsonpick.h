/*
 * jsonpick.h -- a few members out of a JSON object's text, without
 * building the rest, or the whole of it faster than json_loadb
 * (jsonpick.c).
 *
 * A probe reads nine members of a peer's /health, whose ~100 values
 * (metrics above all) jansson would build into a tree only for them to be
 * freed: ~190k instructions a probe, most of a simulated node's work.
 */
#ifndef HS_JSONPICK_H
#define HS_JSONPICK_H

#include <stddef.h>

#include <jansson.h>

/*
 * What json_loadb(text, len, 0, NULL) gives, as far as json_object_get()
 * of keys[0..nkeys) on it can tell: NULL where it is NULL (the text is not
 * JSON), else a new reference to an object holding those of the keys
 * that the text's top-level object has, with the values jansson would
 * give them. The rest of the text is validated and not built. Anything
 * the scanner does not take (not an object, \u escapes, escapes in keys,
 * a picked key twice, deep nesting, long numbers, invalid input) is
 * json_loadb's own answer, the whole tree. keys are plain ASCII names.
 */
json_t *hs_json_pick(const char *text, size_t len, const char *const *keys, size_t nkeys);

/*
 * json_loadb(text, len, 0, NULL), the whole tree, built by the same
 * scanner: the text validated first, then each value made with the calls
 * jansson's parser makes (a key again replaces its value), without its
 * lexer's byte-by-byte copies (~3x fewer instructions for a digest's
 * list of ids). What the scanner declines is json_loadb's own answer.
 */
json_t *hs_json_load(const char *text, size_t len);

#endif

/*
 * fuzz_jsonpick.c -- hs_json_pick (core/proto/jsonpick.c), which a probe
 * reads a peer's /health and /ping answers with, against jansson: for any
 * text, each picked key must look up to what json_loadb's tree has under
 * it (the same value, or nothing), and the text must be JSON exactly when
 * jansson says so. hs_json_load (a /digest's body) must be jansson's
 * whole tree, and hs_jsonout_json (jsonout.c) must write a tree as
 * json_dumps does.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "jsonout.h"
#include "jsonpick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"node_id", "incarnation", "tags", "features", "feeds",
                                       "room",    "spare",       "news", "try",      ""};
    const char *text = (const char *)data;
    json_t *full = json_loadb(text, size, 0, NULL);
    json_t *picked = hs_json_pick(text, size, keys, sizeof keys / sizeof *keys);

    FUZZ_CHECK(!full == !picked, "JSON exactly when jansson says so");
    for (size_t k = 0; full && k < sizeof keys / sizeof *keys; k++) {
        json_t *a = json_object_get(full, keys[k]), *b = json_object_get(picked, keys[k]);
        FUZZ_CHECK(!a == !b, "a key picked exactly when jansson has it");
        FUZZ_CHECK(!a || json_equal(a, b), "the value jansson has");
        /* json_equal takes 1 for 1.0: the types must agree too. */
        FUZZ_CHECK(!a || json_typeof(a) == json_typeof(b), "the type jansson has");
    }
    /* hs_json_load: jansson's whole tree (json_equal: same types too). */
    json_t *whole = hs_json_load(text, size);
    FUZZ_CHECK(!full == !whole, "hs_json_load: JSON exactly when jansson says so");
    FUZZ_CHECK(!full || json_equal(full, whole), "hs_json_load: jansson's tree");
    json_decref(whole);
    /* hs_jsonout_json (routes.c's answers): json_dumps' bytes. */
    if (full) {
        hs_jsonout o = {0};
        size_t len = 0;
        char *want = json_dumps(full, JSON_COMPACT);
        char *got = hs_jsonout_json(&o, full) == 0 ? hs_jsonout_finish(&o, &len) : NULL;
        FUZZ_CHECK(!got || (want && strcmp(got, want) == 0 && len == strlen(want)),
                   "hs_jsonout_json: json_dumps' bytes");
        hs_jsonout_free(&o);
        free(got);
        free(want);
    }
    json_decref(full);
    json_decref(picked);
    return 0;
}

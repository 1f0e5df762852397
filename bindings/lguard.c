/*
 * lguard.c -- the standard library of a plugin host's state, with every
 * function whose cost is not about one VM instruction charging its work;
 * see lguard.h.
 *
 * A guarded function is the stock C function called in place (same stack,
 * same call frame, so argument errors still name it as the plugin called
 * it) after a charge for the work its arguments announce, and, for those
 * whose result size is known only after, a charge for the result. The
 * units follow lwork.h (about one VM instruction): a byte copied costs
 * 1/16, a byte parsed or decoded 1/4 to 1, a table slot moved 1, a
 * comparison of a sort 2. Charges are checked (and may raise) before the
 * work starts, so a call that could not finish in its budget never does
 * the work. Pattern matching is lpattern.c's, which charges as it goes.
 */
#include <math.h>
#include <stdint.h>

#include <lauxlib.h>

#include "lguard.h"
#include "lpattern.h"
#include "lwork.h"

enum {
    G_BYTES,  /* the string argument is walked once (upper, lower, reverse) */
    G_DECODE, /* walked and decoded (utf8.len/offset/codepoint) */
    G_REP,    /* (#s + #sep) * n bytes written */
    G_FORMAT, /* the format is parsed; the result is written */
    G_PACK,   /* string.pack/unpack/packsize: the format, and the result */
    G_CONCAT, /* table.concat: the items, and the result */
    G_SORT,   /* n log n comparisons */
    G_SHIFT,  /* table.insert/remove: up to #t slots move */
    G_MOVE,   /* table.move: e - f + 1 slots */
    G_UNPACK, /* table.unpack: j - i + 1 values */
    G_LOAD,   /* a chunk of text is parsed */
    G_DATE    /* os.date: each directive writes a few dozen bytes */
};

static size_t clamp(double x)
{
    if (!(x > 0))
        return 0;
    return x >= (double)(SIZE_MAX / 2) ? SIZE_MAX / 2 : (size_t)x;
}

/* The length of the string at i, or 0 when it is not a string (the stock
 * function reports that). */
static size_t slen(lua_State *L, int i)
{
    return lua_type(L, i) == LUA_TSTRING ? lua_rawlen(L, i) : 0;
}

/* Integer argument i, or def when absent or not an integer. */
static double iarg(lua_State *L, int i, double def)
{
    int ok;
    lua_Integer v = lua_tointegerx(L, i, &ok);
    return ok ? (double)v : def;
}

/* The raw length of the table at i (no __len: the charge must not run
 * plugin code), 0 when it is not one. */
static double tlen(lua_State *L, int i)
{
    return lua_type(L, i) == LUA_TTABLE ? (double)lua_rawlen(L, i) : 0;
}

static size_t before(lua_State *L, int kind)
{
    double n;

    switch (kind) {
    case G_BYTES:
        return slen(L, 1) / 16;
    case G_DECODE:
        return slen(L, 1) / 4;
    case G_REP:
        return clamp(((double)slen(L, 1) + (double)slen(L, 3)) * iarg(L, 2, 0) / 16);
    case G_FORMAT:
    case G_PACK:
        return slen(L, 1) / 4;
    case G_CONCAT:
    case G_UNPACK:
        return clamp(iarg(L, 3, tlen(L, 1)) - iarg(L, 2, 1) + 1);
    case G_SORT:
        n = tlen(L, 1);
        return clamp(n > 1 ? 2 * n * log2(n) : 0);
    case G_SHIFT:
        return clamp(tlen(L, 1));
    case G_MOVE:
        return clamp(iarg(L, 3, 0) - iarg(L, 2, 1) + 1);
    case G_LOAD:
        return slen(L, 1);
    case G_DATE:
        return slen(L, 1) * 8;
    default:
        return 0;
    }
}

static int guarded(lua_State *L)
{
    lua_CFunction stock = lua_tocfunction(L, lua_upvalueindex(1));
    int kind = (int)lua_tointeger(L, lua_upvalueindex(2)), nres;

    hs_work_charge(L, before(L, kind));
    nres = stock(L);
    if ((kind == G_FORMAT || kind == G_PACK || kind == G_CONCAT) && nres >= 1 &&
        lua_type(L, -nres) == LUA_TSTRING)
        hs_work_charge(L, lua_rawlen(L, -nres) / 16);
    return nres;
}

typedef struct guard_entry {
    const char *lib, *name;
    int kind;
} guard_entry;

static const guard_entry entries[] = {
    {"string", "upper", G_BYTES}, {"string", "lower", G_BYTES},    {"string", "reverse", G_BYTES},
    {"string", "rep", G_REP},     {"string", "format", G_FORMAT},  {"string", "pack", G_PACK},
    {"string", "unpack", G_PACK}, {"string", "packsize", G_PACK},  {"utf8", "len", G_DECODE},
    {"utf8", "offset", G_DECODE}, {"utf8", "codepoint", G_DECODE}, {"table", "concat", G_CONCAT},
    {"table", "sort", G_SORT},    {"table", "insert", G_SHIFT},    {"table", "remove", G_SHIFT},
    {"table", "move", G_MOVE},    {"table", "unpack", G_UNPACK},   {"os", "date", G_DATE},
    {"_G", "load", G_LOAD},
};

void hs_guard_open(lua_State *L)
{
    for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
        const guard_entry *e = &entries[i];
        if (lua_getglobal(L, e->lib) != LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        lua_getfield(L, -1, e->name);
        if (!lua_tocfunction(L, -1)) {
            lua_pop(L, 2);
            continue;
        }
        lua_pushinteger(L, e->kind);
        lua_pushcclosure(L, guarded, 2);
        lua_setfield(L, -2, e->name);
        lua_pop(L, 1);
    }
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    hs_pattern_register(L, lua_gettop(L));
    lua_pop(L, 1);
}

/*
 * lpattern.c -- Lua 5.4 patterns (string.find, match, gmatch, gsub) with
 * every matching step counted; see lpattern.h.
 *
 * Each call compiles its pattern once into items (a gmatch iterator keeps
 * them) and a backtracking matcher walks the items. The matcher tries the
 * alternatives in the order the manual defines (longest first for '*' and
 * '+', shortest first for '-', one before none for '?') and nests exactly
 * where the reference implementation recurses, so results, the "pattern
 * too complex" limit (200 nested tries) and the point at which a
 * malformed pattern is reported are all stock Lua's: a malformed item
 * compiles into an error item, raised only when a match reaches it.
 *
 * Cost model, in units of about one VM instruction: one per start
 * position, per pattern item tried at a subject position, per byte a
 * repetition or %b scans and per backtrack; one per 16 bytes compared,
 * searched or copied in bulk (plain find, literals, back-references,
 * captures, gsub's output). Units go to hs_work_charge() every
 * PM_BATCH and once at the end of each call. A charge may raise, so
 * nothing here is malloc'ed: matching state lives on the C stack, big
 * compiled patterns in userdata, gsub's output in a luaL_Buffer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "lpattern.h"
#include "lwork.h"

#define PM_MAXDEPTH 200   /* nested tries before "pattern too complex" */
#define PM_MAXCAPTURES 32 /* LUA_MAXCAPTURES in stock Lua */
#define PM_BATCH 1024     /* units charged at a time */
#define PM_LOCAL_ITEMS 48 /* compiled patterns this small stay on the C stack */

#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)

enum pm_op {
    OP_END,      /* the pattern is done: the match ends here */
    OP_DOLLAR,   /* a final '$': succeeds only at the subject's end */
    OP_OPEN,     /* '(': c = capture index */
    OP_POSITION, /* '()': c = capture index */
    OP_CLOSE,    /* ')': c = index of the capture it closes */
    OP_LIT,      /* plain characters with no quantifier: pattern bytes a..a+b */
    OP_BALANCE,  /* %bxy: c = x, d = y */
    OP_FRONTIER, /* %f[set]: a = index of the set */
    OP_BACKREF,  /* %1-%9: c = capture index */
    OP_ERROR,    /* the pattern is malformed here: c = enum pm_error, d = digit */
    /* single-character items, each with an optional quantifier q */
    OP_CHAR,  /* the byte c */
    OP_ANY,   /* '.' */
    OP_CLASS, /* %a, %d, ...: c = the class letter in lower case, d = 1 when complemented */
    OP_SET,   /* [set]: a = index of the set */
};

enum pm_error {
    ERR_ENDS_PERCENT,
    ERR_MISSING_BRACKET,
    ERR_FRONTIER_BRACKET,
    ERR_BALANCE_ARGS,
    ERR_CAPTURE_INDEX,
    ERR_BAD_CAPTURE,
    ERR_TOO_MANY,
};

static const char *const pm_errors[] = {
    "malformed pattern (ends with '%')",
    "malformed pattern (missing ']')",
    "missing '[' after '%f' in pattern",
    "malformed pattern (missing arguments to '%b')",
    "invalid capture index",
    "invalid pattern capture",
    "too many captures",
};

/* A compiled pattern item; a pattern of n bytes compiles into at most
 * n + 1 items and n / 3 sets. */
typedef struct pm_item {
    uint8_t op, q, c, d;
    uint32_t a, b;
} pm_item;

/* A compiled set: the bytes it lists (alone or in ranges) as a bitmap, the
 * classes it names as a mask (bit k: class k of pm_class_letters, bit
 * 16 + k: its complement), and whether it is a [^...] set. */
typedef struct pm_cset {
    uint32_t bits[8];
    uint32_t classes;
    uint32_t flip;
} pm_cset;

typedef struct pm_state {
    lua_State *L;
    const char *src, *end; /* the subject */
    const char *pat;       /* the pattern's text, which literals point into */
    const pm_cset *sets;   /* the pattern's compiled sets */
    const pm_item *lead;   /* an item every match must begin with, or NULL */
    int ncap;              /* captures in the pattern */
    ptrdiff_t credit;      /* units left before the next charge */
    struct {
        const char *init;
        ptrdiff_t len; /* or CAP_UNFINISHED, CAP_POSITION */
    } cap[PM_MAXCAPTURES];
} pm_state;

/* ---- charging ---------------------------------------------------------- */

static void pm_flush(pm_state *ms)
{
    size_t used = (size_t)(PM_BATCH - ms->credit);

    ms->credit = PM_BATCH;
    hs_work_charge(ms->L, used);
}

static inline void pm_charge(pm_state *ms, size_t units)
{
    ms->credit -= (ptrdiff_t)units;
    if (ms->credit <= 0)
        pm_flush(ms);
}

/* Charges what was used since the last batch: at the end of a call. */
static void pm_settle(pm_state *ms)
{
    if (ms->credit != PM_BATCH)
        pm_flush(ms);
}

static void pm_init(pm_state *ms, lua_State *L, const char *s, size_t ls)
{
    ms->L = L;
    ms->src = s;
    ms->end = s + ls;
    ms->pat = NULL;
    ms->sets = NULL;
    ms->lead = NULL;
    ms->ncap = 0;
    ms->credit = PM_BATCH;
}

static int pm_raise(pm_state *ms, const pm_item *it)
{
    pm_settle(ms);
    if (it->c == ERR_CAPTURE_INDEX)
        return luaL_error(ms->L, "invalid capture index %%%d", it->d);
    return luaL_error(ms->L, "%s", pm_errors[it->c]);
}

static int pm_raise_msg(pm_state *ms, const char *msg)
{
    pm_settle(ms);
    return luaL_error(ms->L, "%s", msg);
}

/* ---- character classes ------------------------------------------------- */

/* Whether c is in the class named by the lower-case letter cl (one of
 * "acdglpsuwxz"), by the C library's classification as stock Lua does. */
static inline int pm_class(int cl, int c)
{
    switch (cl) {
    case 'a':
        return isalpha(c) != 0;
    case 'c':
        return iscntrl(c) != 0;
    case 'd':
        return isdigit(c) != 0;
    case 'g':
        return isgraph(c) != 0;
    case 'l':
        return islower(c) != 0;
    case 'p':
        return ispunct(c) != 0;
    case 's':
        return isspace(c) != 0;
    case 'u':
        return isupper(c) != 0;
    case 'w':
        return isalnum(c) != 0;
    case 'x':
        return isxdigit(c) != 0;
    default: /* 'z', kept by 5.4 though no longer documented */
        return c == 0;
    }
}

static const char pm_class_letters[] = "acdglpsuwxz";

/* The index of a class letter in pm_class_letters, or -1. */
static int pm_class_index(int lower)
{
    const char *l = lower != 0 ? strchr(pm_class_letters, lower) : NULL;

    return l ? (int)(l - pm_class_letters) : -1;
}

/* Whether c is in one of the classes (or complements) of mask. */
static int pm_classes_has(uint32_t mask, int c)
{
    while (mask != 0) {
        int k = __builtin_ctz(mask);
        mask &= mask - 1;
        if (k < 16 ? pm_class(pm_class_letters[k], c) : !pm_class(pm_class_letters[k - 16], c))
            return 1;
    }
    return 0;
}

static inline int pm_cset_has(const pm_cset *cs, int c)
{
    uint32_t hit = (cs->bits[c >> 5] >> (c & 31)) & 1;

    if (!hit && cs->classes != 0)
        hit = (uint32_t)pm_classes_has(cs->classes, c);
    return (int)(hit ^ cs->flip);
}

static void pm_cset_add(pm_cset *cs, int c)
{
    cs->bits[c >> 5] |= 1u << (c & 31);
}

/* Compiles the set whose '[' and ']' are p[open] and p[close]: a '^'
 * first complements it; "%x" is the class x (or its complement, for an
 * upper-case letter) or else the byte x; "x-y" is a range unless the '-'
 * is last. Returns the bytes its ranges spanned, for the charge. */
static size_t pm_cset_build(pm_cset *cs, const char *p, size_t open, size_t close)
{
    const unsigned char *q = (const unsigned char *)p + open + 1;
    const unsigned char *ec = (const unsigned char *)p + close;
    size_t spanned = 0;

    memset(cs, 0, sizeof *cs);
    if (*q == '^') {
        cs->flip = 1;
        q++;
    }
    for (; q < ec; q++) {
        if (*q == '%') {
            int k = pm_class_index(tolower(*++q));
            if (k < 0)
                pm_cset_add(cs, *q);
            else
                cs->classes |= 1u << (k + (isupper(*q) ? 16 : 0));
        } else if (q + 2 < ec && q[1] == '-') {
            for (int c = q[0]; c <= q[2]; c++)
                pm_cset_add(cs, c);
            spanned += q[0] <= q[2] ? (size_t)(q[2] - q[0]) : 0;
            q += 2;
        } else {
            pm_cset_add(cs, *q);
        }
    }
    return spanned;
}

static inline int pm_single(const pm_state *ms, const pm_item *it, int c)
{
    switch (it->op) {
    case OP_CHAR:
        return c == it->c;
    case OP_ANY:
        return 1;
    case OP_CLASS:
        return pm_class(it->c, c) != it->d;
    default:
        return pm_cset_has(&ms->sets[it->a], c);
    }
}

#define PM_SPAN(cond)                                                                              \
    while (t < e && (cond))                                                                        \
    t++

/* How many bytes from s on the single-character item matches in a row. */
static size_t pm_span(pm_state *ms, const pm_item *it, const char *s)
{
    const unsigned char *t = (const unsigned char *)s, *e = (const unsigned char *)ms->end;
    int neg = it->d;

    switch (it->op) {
    case OP_ANY:
        pm_charge(ms, (size_t)(e - t) / 16);
        return (size_t)(e - t);
    case OP_CHAR:
        PM_SPAN(*t == it->c);
        break;
    case OP_CLASS:
        switch (it->c) {
        case 'a':
            PM_SPAN((isalpha(*t) != 0) != neg);
            break;
        case 'd':
            PM_SPAN((isdigit(*t) != 0) != neg);
            break;
        case 's':
            PM_SPAN((isspace(*t) != 0) != neg);
            break;
        case 'w':
            PM_SPAN((isalnum(*t) != 0) != neg);
            break;
        default:
            PM_SPAN(pm_class(it->c, *t) != neg);
            break;
        }
        break;
    default: {
        const pm_cset *cs = &ms->sets[it->a];
        if (cs->classes == 0)
            PM_SPAN(((cs->bits[*t >> 5] >> (*t & 31)) & 1) != cs->flip);
        else
            PM_SPAN(pm_cset_has(cs, *t));
        break;
    }
    }
    pm_charge(ms, (size_t)(t - (const unsigned char *)s));
    return (size_t)(t - (const unsigned char *)s);
}

/* ---- compiling --------------------------------------------------------- */

static int pm_is_quantifier(int c)
{
    return c == '*' || c == '+' || c == '-' || c == '?';
}

/* The offset of the ']' closing the set that opens at p[i], or 0 when it
 * has none. The first byte of the set (after a '^') is never its end, so
 * "[]]" is the set of ']'; "%" escapes the byte after it. */
static size_t pm_set_close(const char *p, size_t m, size_t i)
{
    size_t j = i + 1;

    if (j < m && p[j] == '^')
        j++;
    for (;;) {
        if (j >= m)
            return 0;
        if (p[j++] == '%' && j < m)
            j++;
        if (j < m && p[j] == ']')
            return j;
    }
}

/* Whether p[j] is a byte that stands for itself where an item starts. */
static int pm_is_plain(const char *p, size_t m, size_t j)
{
    switch (p[j]) {
    case '(':
    case ')':
    case '%':
    case '[':
    case '.':
        return 0;
    case '$':
        return j + 1 < m;
    default:
        return 1;
    }
}

static void pm_fail_at(pm_item *it, int err, int digit)
{
    it->op = OP_ERROR;
    it->c = (uint8_t)err;
    it->d = (uint8_t)digit;
}

/* Where a pattern compiles to; with items NULL, compiling only counts. */
typedef struct pm_prog {
    pm_item *items;
    pm_cset *sets;
    size_t nitems, nsets;
} pm_prog;

/* Takes a set for the item at p[open..close]: compiles it, or only counts it. */
static void pm_take_set(pm_state *ms, pm_prog *pg, pm_item *it, size_t open, size_t close)
{
    it->a = (uint32_t)pg->nsets;
    if (pg->items != NULL)
        pm_charge(ms, pm_cset_build(&pg->sets[pg->nsets], ms->pat, open, close) / 16);
    pg->nsets++;
}

/* Compiles the pattern p[0..m) into pg, up to its end or its first
 * malformed item, and sets ms's pattern, sets, capture count and lead.
 * Raises nothing but a charge's error: malformations are items. */
static void pm_compile(pm_state *ms, const char *p, size_t m, pm_prog *pg)
{
    size_t i = 0, n = 0;
    int level = 0, nopen = 0;
    uint8_t open[PM_MAXCAPTURES], unfinished[PM_MAXCAPTURES] = {0};
    pm_item scratch;

    ms->pat = p;
    ms->sets = pg->sets;
    pg->nsets = 0;
    while (i < m) {
        pm_item *it = pg->items ? &pg->items[n] : &scratch;
        size_t ep;

        n++;
        memset(it, 0, sizeof *it);
        switch (p[i]) {
        case '(':
            if (level >= PM_MAXCAPTURES) {
                pm_fail_at(it, ERR_TOO_MANY, 0);
                goto done;
            }
            it->c = (uint8_t)level;
            if (i + 1 < m && p[i + 1] == ')') {
                it->op = OP_POSITION;
                i += 2;
            } else {
                it->op = OP_OPEN;
                unfinished[level] = 1;
                open[nopen++] = (uint8_t)level;
                i++;
            }
            level++;
            continue;
        case ')':
            if (nopen == 0) {
                pm_fail_at(it, ERR_BAD_CAPTURE, 0);
                goto done;
            }
            it->op = OP_CLOSE;
            it->c = open[--nopen];
            unfinished[it->c] = 0;
            i++;
            continue;
        case '$':
            if (i + 1 == m) {
                it->op = OP_DOLLAR;
                i++;
                continue;
            }
            break;
        case '%': {
            int e = i + 1 < m ? (unsigned char)p[i + 1] : -1;
            if (e < 0) {
                pm_fail_at(it, ERR_ENDS_PERCENT, 0);
                goto done;
            }
            if (e == 'b') {
                if (i + 3 >= m) {
                    pm_fail_at(it, ERR_BALANCE_ARGS, 0);
                    goto done;
                }
                it->op = OP_BALANCE;
                it->c = (uint8_t)p[i + 2];
                it->d = (uint8_t)p[i + 3];
                i += 4;
                continue;
            }
            if (e == 'f') {
                size_t close;
                if (i + 2 >= m || p[i + 2] != '[') {
                    pm_fail_at(it, ERR_FRONTIER_BRACKET, 0);
                    goto done;
                }
                if ((close = pm_set_close(p, m, i + 2)) == 0) {
                    pm_fail_at(it, ERR_MISSING_BRACKET, 0);
                    goto done;
                }
                it->op = OP_FRONTIER;
                pm_take_set(ms, pg, it, i + 2, close);
                i = close + 1;
                continue;
            }
            if (e >= '0' && e <= '9') {
                int l = e - '1';
                if (l < 0 || l >= level || unfinished[l]) {
                    pm_fail_at(it, ERR_CAPTURE_INDEX, e - '0');
                    goto done;
                }
                it->op = OP_BACKREF;
                it->c = (uint8_t)l;
                i += 2;
                continue;
            }
            if (pm_class_index(tolower(e)) >= 0) {
                it->op = OP_CLASS;
                it->c = (uint8_t)tolower(e);
                it->d = isupper(e) != 0;
            } else {
                it->op = OP_CHAR;
                it->c = (uint8_t)e;
            }
            ep = i + 2;
            goto quantifier;
        }
        case '[': {
            size_t close = pm_set_close(p, m, i);
            if (close == 0) {
                pm_fail_at(it, ERR_MISSING_BRACKET, 0);
                goto done;
            }
            it->op = OP_SET;
            pm_take_set(ms, pg, it, i, close);
            ep = close + 1;
            goto quantifier;
        }
        case '.':
            it->op = OP_ANY;
            ep = i + 1;
            goto quantifier;
        default:
            break;
        }
        /* A plain byte: a run of them with no quantifier is one literal. */
        ep = i;
        while (ep < m && pm_is_plain(p, m, ep) && !(ep + 1 < m && pm_is_quantifier(p[ep + 1])))
            ep++;
        if (ep > i + 1) {
            it->op = OP_LIT;
            it->a = (uint32_t)i;
            it->b = (uint32_t)(ep - i);
            i = ep;
            continue;
        }
        it->op = OP_CHAR;
        it->c = (uint8_t)p[i];
        ep = i + 1;
    quantifier:
        if (ep < m && pm_is_quantifier(p[ep])) {
            it->q = (uint8_t)p[ep];
            ep++;
        }
        i = ep;
    }
    if (pg->items != NULL)
        pg->items[n].op = OP_END;
    n++;
done:
    pg->nitems = n;
    ms->ncap = level;
    pm_charge(ms, n + m / 16);
    /* Every match begins with the first item that consumes input, when it
     * must match at least once: start positions it rejects can be skipped. */
    for (size_t k = 0; pg->items != NULL && k < n; k++) {
        const pm_item *it = &pg->items[k];
        if (it->op == OP_OPEN || it->op == OP_POSITION)
            continue;
        if (it->op == OP_LIT || (it->op >= OP_CHAR && (it->q == 0 || it->q == '+')))
            ms->lead = it;
        break;
    }
}

/* A compiled pattern in Lua's memory (so a charge that raises leaves
 * nothing behind): `extra` bytes, then its items, then its sets. */
static void *pm_alloc(lua_State *L, pm_prog *pg, size_t extra)
{
    char *mem;

    mem =
        lua_newuserdatauv(L, extra + pg->nitems * sizeof(pm_item) + pg->nsets * sizeof(pm_cset), 0);
    pg->items = (pm_item *)(mem + extra);
    pg->sets = (pm_cset *)(pg->items + pg->nitems);
    return mem;
}

/* Compiles p for find, match or gsub: on the C stack when it is small for
 * sure, else counted first and put in a userdata pushed on the stack. */
#define PM_LOCAL_SETS (PM_LOCAL_ITEMS / 3)
typedef struct pm_local {
    pm_item items[PM_LOCAL_ITEMS];
    pm_cset sets[PM_LOCAL_SETS];
} pm_local;

static const pm_item *pm_prepare(pm_state *ms, const char *p, size_t m, pm_local *local)
{
    pm_prog pg = {NULL, NULL, 0, 0};

    if (m >= UINT32_MAX) /* items hold offsets into the pattern */
        luaL_error(ms->L, "pattern too long");
    if (m < PM_LOCAL_ITEMS) {
        pg.items = local->items;
        pg.sets = local->sets;
    } else {
        pm_compile(ms, p, m, &pg);
        pm_alloc(ms->L, &pg, 0);
    }
    pm_compile(ms, p, m, &pg);
    return pg.items;
}

/* ---- matching ---------------------------------------------------------- */

/* Whether a match of the items from `next` could begin at s, judged by its
 * first byte: false only when trying would fail at once without raising. */
static inline int pm_may_start(const pm_state *ms, const pm_item *next, const char *s, int depth)
{
    if (depth > PM_MAXDEPTH)
        return 1;
    switch (next->op) {
    case OP_DOLLAR:
        return s == ms->end;
    case OP_LIT:
        return s < ms->end && *s == ms->pat[next->a];
    case OP_CHAR:
        if (next->q == 0 || next->q == '+')
            return s < ms->end && (unsigned char)*s == next->c;
        return 1;
    default:
        return 1;
    }
}

/* Matches the items from `it` at s; returns the end of the match or NULL.
 * depth counts nested tries as stock Lua's recursion does. */
static const char *pm_match(pm_state *ms, const char *s, const pm_item *it, int depth)
{
    if (depth > PM_MAXDEPTH)
        pm_raise_msg(ms, "pattern too complex");
    for (;; it++) {
        const char *r;

        pm_charge(ms, 1);
        switch (it->op) {
        case OP_END:
            return s;
        case OP_DOLLAR:
            return s == ms->end ? s : NULL;
        case OP_LIT: {
            size_t len = it->b;
            if ((size_t)(ms->end - s) < len || memcmp(s, ms->pat + it->a, len) != 0)
                return NULL;
            pm_charge(ms, len / 16);
            s += len;
            continue;
        }
        case OP_OPEN:
        case OP_POSITION:
            ms->cap[it->c].init = s;
            ms->cap[it->c].len = it->op == OP_OPEN ? CAP_UNFINISHED : CAP_POSITION;
            return pm_match(ms, s, it + 1, depth + 1);
        case OP_CLOSE:
            ms->cap[it->c].len = s - ms->cap[it->c].init;
            if ((r = pm_match(ms, s, it + 1, depth + 1)) == NULL)
                ms->cap[it->c].len = CAP_UNFINISHED;
            return r;
        case OP_BALANCE: {
            const char *t = s;
            int nest = 1;
            if (s >= ms->end || (unsigned char)*s != it->c)
                return NULL;
            while (++t < ms->end) {
                unsigned char c = (unsigned char)*t;
                if (c == it->d) {
                    if (--nest == 0)
                        break;
                } else if (c == it->c) {
                    nest++;
                }
            }
            pm_charge(ms, (size_t)(t - s));
            if (t >= ms->end)
                return NULL;
            s = t + 1;
            continue;
        }
        case OP_FRONTIER: {
            int prev = s == ms->src ? 0 : (unsigned char)s[-1];
            int cur = s < ms->end ? (unsigned char)*s : 0;
            if (pm_cset_has(&ms->sets[it->a], prev) || !pm_cset_has(&ms->sets[it->a], cur))
                return NULL;
            continue;
        }
        case OP_BACKREF: {
            ptrdiff_t len = ms->cap[it->c].len;
            if (len < 0 || ms->end - s < len || memcmp(ms->cap[it->c].init, s, (size_t)len) != 0)
                return NULL;
            pm_charge(ms, (size_t)len / 16);
            s += len;
            continue;
        }
        case OP_ERROR:
            pm_raise(ms, it);
            return NULL;
        default:
            break;
        }
        /* A single-character item and its quantifier. */
        switch (it->q) {
        case 0:
            if (s < ms->end && pm_single(ms, it, (unsigned char)*s)) {
                s++;
                continue;
            }
            return NULL;
        case '?':
            if (s < ms->end && pm_single(ms, it, (unsigned char)*s)) {
                if (pm_may_start(ms, it + 1, s + 1, depth + 1) &&
                    (r = pm_match(ms, s + 1, it + 1, depth + 1)) != NULL)
                    return r;
                pm_charge(ms, 1);
            }
            continue;
        case '-':
            if (s >= ms->end || !pm_single(ms, it, (unsigned char)*s))
                continue;
            for (;;) {
                if (pm_may_start(ms, it + 1, s, depth + 1) &&
                    (r = pm_match(ms, s, it + 1, depth + 1)) != NULL)
                    return r;
                pm_charge(ms, 1);
                if (s >= ms->end || !pm_single(ms, it, (unsigned char)*s))
                    return NULL;
                s++;
            }
        default: { /* '*' and '+': the longest run first, then shorter ones */
            size_t i = pm_span(ms, it, s), least = it->q == '+';
            if (i == 0) {
                if (least)
                    return NULL;
                continue;
            }
            for (;;) {
                if (pm_may_start(ms, it + 1, s + i, depth + 1) &&
                    (r = pm_match(ms, s + i, it + 1, depth + 1)) != NULL)
                    return r;
                if (i == least)
                    return NULL;
                i--;
                pm_charge(ms, 1);
            }
        }
        }
    }
}

/* The first occurrence of the n bytes at needle in h[0..lh), or NULL:
 * memchr and memcmp for the first few candidates (quick for the short
 * searches most are), then memmem, whose time is linear. */
static const char *pm_search(pm_state *ms, const char *h, size_t lh, const char *needle, size_t n)
{
    const char *s = h, *last, *hit = NULL;
    int tries = 0;

    if (n == 0 || n > lh)
        return n == 0 ? h : NULL;
    last = h + (lh - n); /* the last place it could start */
    for (; tries < 8; tries++) {
        hit = memchr(s, needle[0], (size_t)(last - s) + 1);
        if (hit == NULL || memcmp(hit + 1, needle + 1, n - 1) == 0)
            goto found;
        if ((s = hit + 1) > last) {
            hit = NULL;
            goto found;
        }
    }
    hit = memmem(s, (size_t)(h + lh - s), needle, n);
found:
    pm_charge(ms, 1 + (size_t)tries * (1 + n / 16) + (size_t)((hit ? hit + n : h + lh) - h) / 16);
    return hit;
}

/* The first start position from s on where a match could begin (s itself
 * when the pattern has no lead), or NULL when no later one can. */
static const char *pm_skip(pm_state *ms, const char *s)
{
    const pm_item *lead = ms->lead;
    const char *t;

    if (lead == NULL)
        return s;
    if (lead->op == OP_LIT)
        return pm_search(ms, s, (size_t)(ms->end - s), ms->pat + lead->a, lead->b);
    if (lead->op == OP_CHAR) {
        t = memchr(s, lead->c, (size_t)(ms->end - s));
        pm_charge(ms, 1 + (size_t)((t ? t : ms->end) - s) / 16);
        return t;
    }
    for (t = s; t < ms->end && !pm_single(ms, lead, (unsigned char)*t); t++)
        ;
    pm_charge(ms, (size_t)(t - s));
    return t < ms->end ? t : NULL;
}

/* ---- results ----------------------------------------------------------- */

/* Pushes capture i, or the whole match s..e when the pattern has none. */
static void pm_push_capture(pm_state *ms, int i, const char *s, const char *e)
{
    if (i >= ms->ncap) {
        pm_charge(ms, 1 + (size_t)(e - s) / 16);
        lua_pushlstring(ms->L, s, (size_t)(e - s));
        return;
    }
    if (ms->cap[i].len == CAP_UNFINISHED)
        pm_raise_msg(ms, "unfinished capture");
    if (ms->cap[i].len == CAP_POSITION) {
        lua_pushinteger(ms->L, (ms->cap[i].init - ms->src) + 1);
        return;
    }
    pm_charge(ms, 1 + (size_t)ms->cap[i].len / 16);
    lua_pushlstring(ms->L, ms->cap[i].init, (size_t)ms->cap[i].len);
}

/* Pushes every capture (the whole match when there are none and s is not
 * NULL); returns how many. */
static int pm_push_captures(pm_state *ms, const char *s, const char *e)
{
    int n = (ms->ncap == 0 && s != NULL) ? 1 : ms->ncap;

    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        pm_push_capture(ms, i, s, e);
    return n;
}

static size_t pm_posrelat(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

/* Whether the pattern has no magic byte, so find can search it plainly. */
static int pm_no_specials(const char *p, size_t lp)
{
    static const unsigned char special[256] = {
        ['^'] = 1, ['$'] = 1, ['*'] = 1, ['+'] = 1, ['?'] = 1,
        ['.'] = 1, ['('] = 1, ['['] = 1, ['%'] = 1, ['-'] = 1,
    };

    for (size_t i = 0; i < lp; i++)
        if (special[(unsigned char)p[i]])
            return 0;
    return 1;
}

/* ---- find, match ------------------------------------------------------- */

/* find's plain search for p[0..lp) in the subject from init on. */
static int pm_find_plain(pm_state *ms, size_t init, const char *p, size_t lp)
{
    const char *hit = pm_search(ms, ms->src + init, (size_t)(ms->end - ms->src) - init, p, lp);

    pm_charge(ms, lp / 16);
    pm_settle(ms);
    if (hit == NULL) {
        luaL_pushfail(ms->L);
        return 1;
    }
    lua_pushinteger(ms->L, (hit - ms->src) + 1);
    lua_pushinteger(ms->L, (lua_Integer)((size_t)(hit - ms->src) + lp));
    return 2;
}

static int pm_find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = pm_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
    const char *t = s + init, *e;
    int anchor = lp > 0 && p[0] == '^';
    const pm_item *items;
    pm_local local;
    pm_state ms;

    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    pm_init(&ms, L, s, ls);
    if (find && (lua_toboolean(L, 4) || pm_no_specials(p, lp)))
        return pm_find_plain(&ms, init, p, lp);
    if (anchor) {
        p++;
        lp--;
    }
    items = pm_prepare(&ms, p, lp, &local);
    for (;;) {
        if (!anchor && (t = pm_skip(&ms, t)) == NULL)
            break;
        pm_charge(&ms, 1);
        if ((e = pm_match(&ms, t, items, 1)) != NULL) {
            int n;
            if (!find) {
                n = pm_push_captures(&ms, t, e);
            } else {
                lua_pushinteger(L, (t - s) + 1);
                lua_pushinteger(L, e - s);
                n = pm_push_captures(&ms, NULL, NULL) + 2;
            }
            pm_settle(&ms);
            return n;
        }
        if (anchor || t >= ms.end)
            break;
        t++;
    }
    pm_settle(&ms);
    luaL_pushfail(L);
    return 1;
}

static int pm_find(lua_State *L)
{
    return pm_find_aux(L, 1);
}

static int pm_match_fn(lua_State *L)
{
    return pm_find_aux(L, 0);
}

/* ---- gmatch ------------------------------------------------------------ */

/* A gmatch iterator's state, followed in its userdata by the compiled
 * pattern. */
typedef struct pm_gmatch {
    size_t pos;  /* where the next search starts */
    size_t last; /* end of the last match, SIZE_MAX before the first */
    const pm_item *items, *lead;
    const pm_cset *sets;
    int ncap;
} pm_gmatch;

/* Upvalues: the subject, the pattern (both kept alive for the items'
 * offsets) and the pm_gmatch. */
static int pm_gmatch_next(lua_State *L)
{
    size_t ls;
    const char *src = lua_tolstring(L, lua_upvalueindex(1), &ls);
    pm_gmatch *gm = lua_touserdata(L, lua_upvalueindex(3));
    const char *s, *e;
    pm_state ms;

    if (gm->pos > ls)
        return 0;
    pm_init(&ms, L, src, ls);
    ms.pat = lua_tostring(L, lua_upvalueindex(2));
    ms.sets = gm->sets;
    ms.ncap = gm->ncap;
    ms.lead = gm->lead;
    for (s = src + gm->pos;; s++) {
        if ((s = pm_skip(&ms, s)) == NULL)
            break;
        pm_charge(&ms, 1);
        e = pm_match(&ms, s, gm->items, 1);
        if (e != NULL && (size_t)(e - src) != gm->last) {
            int n;
            gm->pos = gm->last = (size_t)(e - src);
            n = pm_push_captures(&ms, s, e);
            pm_settle(&ms);
            return n;
        }
        if (s >= ms.end)
            break;
    }
    pm_settle(&ms);
    return 0;
}

static int pm_gmatch_fn(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = pm_posrelat(luaL_optinteger(L, 3, 1), ls) - 1;
    pm_prog pg = {NULL, NULL, 0, 0};
    pm_gmatch *gm;
    pm_state ms;

    lua_settop(L, 2);
    if (lp >= UINT32_MAX)
        luaL_error(L, "pattern too long");
    pm_init(&ms, L, s, ls);
    pm_compile(&ms, p, lp, &pg);
    gm = pm_alloc(L, &pg, sizeof *gm);
    pm_compile(&ms, p, lp, &pg);
    gm->pos = init > ls ? ls + 1 : init;
    gm->last = SIZE_MAX;
    gm->items = pg.items;
    gm->sets = pg.sets;
    gm->lead = ms.lead;
    gm->ncap = ms.ncap;
    pm_settle(&ms);
    lua_pushcclosure(L, pm_gmatch_next, 3);
    return 1;
}

/* ---- gsub -------------------------------------------------------------- */

static void pm_add(pm_state *ms, luaL_Buffer *b, const char *s, size_t len)
{
    pm_charge(ms, 1 + len / 16);
    luaL_addlstring(b, s, len);
}

/* Adds the replacement string r (with its %0-%9 and %%) for the match s..e. */
static void pm_add_string(pm_state *ms, luaL_Buffer *b, const char *r, size_t lr, const char *s,
                          const char *e)
{
    const char *end = r + lr, *pct;

    while ((pct = memchr(r, '%', (size_t)(end - r))) != NULL) {
        int c = pct + 1 < end ? (unsigned char)pct[1] : 0;
        pm_add(ms, b, r, (size_t)(pct - r));
        r = pct + 2;
        if (c == '%') {
            luaL_addchar(b, '%');
        } else if (c == '0') {
            pm_add(ms, b, s, (size_t)(e - s));
        } else if (c >= '1' && c <= '9') {
            int i = c - '1';
            if (i >= ms->ncap && i != 0) {
                pm_settle(ms);
                luaL_error(ms->L, "invalid capture index %%%d", i + 1);
            }
            if (i >= ms->ncap) {
                pm_add(ms, b, s, (size_t)(e - s));
            } else if (ms->cap[i].len == CAP_UNFINISHED) {
                pm_raise_msg(ms, "unfinished capture");
            } else if (ms->cap[i].len == CAP_POSITION) {
                lua_pushinteger(ms->L, (ms->cap[i].init - ms->src) + 1);
                luaL_addvalue(b);
            } else {
                pm_add(ms, b, ms->cap[i].init, (size_t)ms->cap[i].len);
            }
        } else {
            pm_raise_msg(ms, "invalid use of '%' in replacement string");
        }
    }
    pm_add(ms, b, r, (size_t)(end - r));
}

/* Adds what the function or table at index 3 gives for the match s..e;
 * returns 0 when it gave nil or false (the match is kept: nothing added). */
static int pm_add_value(pm_state *ms, luaL_Buffer *b, int tr, const char *s, const char *e)
{
    lua_State *L = ms->L;

    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        lua_call(L, pm_push_captures(ms, s, e), 1);
    } else {
        pm_push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_isstring(L, -1)) {
        pm_settle(ms);
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    pm_charge(ms, 1 + lua_rawlen(L, -1) / 16);
    luaL_addvalue(b);
    return 1;
}

static int pm_gsub(lua_State *L)
{
    size_t ls, lp, lr = 0;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1), n = 0;
    const char *repl = NULL, *s = src, *kept = src, *last = NULL, *e;
    int anchor = lp > 0 && p[0] == '^', changed = 0;
    pm_local local;
    const pm_item *items;
    luaL_Buffer b;
    pm_state ms;

    luaL_argexpected(
        L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
        "string/function/table");
    if (anchor) {
        p++;
        lp--;
    }
    pm_init(&ms, L, src, ls);
    items = pm_prepare(&ms, p, lp, &local);
    if (tr == LUA_TNUMBER || tr == LUA_TSTRING)
        repl = lua_tolstring(L, 3, &lr);
    luaL_buffinit(L, &b);
    /* [kept, s) is subject text not yet in b: it is copied in one piece
     * when a replacement follows it, or at the end. */
    while (n < max_n) {
        if (!anchor && (s = pm_skip(&ms, s)) == NULL)
            break;
        pm_charge(&ms, 1);
        e = pm_match(&ms, s, items, 1);
        if (e != NULL && e != last) {
            n++;
            pm_add(&ms, &b, kept, (size_t)(s - kept));
            kept = s;
            if (repl != NULL) {
                pm_add_string(&ms, &b, repl, lr, s, e);
                kept = e;
                changed = 1;
            } else if (pm_add_value(&ms, &b, tr, s, e)) {
                kept = e;
                changed = 1;
            }
            s = last = e;
        } else if (s < ms.end) {
            s++;
        } else {
            break;
        }
        if (anchor)
            break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        pm_add(&ms, &b, kept, (size_t)(ms.end - kept));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    pm_settle(&ms);
    return 2;
}

/* ---- registration ------------------------------------------------------ */

void hs_pattern_register(lua_State *L, int idx)
{
    static const luaL_Reg fns[] = {
        {"find", pm_find}, {"match", pm_match_fn}, {"gmatch", pm_gmatch_fn},
        {"gsub", pm_gsub}, {NULL, NULL},
    };

    idx = lua_absindex(L, idx);
    for (const luaL_Reg *f = fns; f->name != NULL; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, idx, f->name);
    }
}

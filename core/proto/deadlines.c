/*
 * deadlines.c -- see deadlines.h.
 */
#include <math.h>

#include "deadlines.h"

void hs_deadlines_init(hs_deadlines *d)
{
    for (int i = 0; i < HS_DUE_COUNT; i++)
        d->at[i] = HS_NEVER;
}

void hs_deadlines_set(hs_deadlines *d, hs_deadline w, double at)
{
    if ((unsigned)w >= HS_DUE_COUNT)
        return;
    /* NaN, infinity and the far future (a setting of 1e300 s) are never. */
    d->at[w] = isfinite(at) && at >= 0 && at < 1e15 ? at : HS_NEVER;
}

double hs_deadlines_at(const hs_deadlines *d, hs_deadline w)
{
    return (unsigned)w < HS_DUE_COUNT ? d->at[w] : HS_NEVER;
}

double hs_deadlines_next(const hs_deadlines *d)
{
    double next = HS_NEVER;

    for (int i = 0; i < HS_DUE_COUNT; i++)
        if (d->at[i] != HS_NEVER && (next == HS_NEVER || d->at[i] < next))
            next = d->at[i];
    return next;
}

int hs_deadlines_take(hs_deadlines *d, double now, unsigned skip)
{
    int pick = -1;

    for (int i = 0; i < HS_DUE_COUNT; i++)
        if (!(skip & 1u << i) && d->at[i] != HS_NEVER && d->at[i] <= now &&
            (pick < 0 || d->at[i] < d->at[pick]))
            pick = i;
    if (pick >= 0)
        d->at[pick] = HS_NEVER;
    return pick;
}

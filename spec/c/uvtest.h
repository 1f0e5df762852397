/*
 * uvtest.h -- loop helpers for the C tests that run a libuv loop: run it
 * for a while, or until a counter reaches a value (bounded in time).
 */
#ifndef HS_UVTEST_H
#define HS_UVTEST_H

#include <uv.h>

static void uvtest_stop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs the loop for ms milliseconds. */
static void run_for(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;

    uv_timer_init(loop, &t);
    uv_timer_start(&t, uvtest_stop, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

typedef struct uvtest_until {
    uv_timer_t t;
    int *counter, want;
    uint64_t left;
} uvtest_until;

static void uvtest_until_cb(uv_timer_t *t)
{
    uvtest_until *u = t->data;

    if (*u->counter >= u->want || u->left-- == 0)
        uv_stop(t->loop);
}

/* Runs the loop until *counter reaches want, at most about ms
 * milliseconds; whether it got there. */
static int run_until(uv_loop_t *loop, int *counter, int want, uint64_t ms)
{
    uvtest_until u = {.counter = counter, .want = want, .left = ms};

    uv_timer_init(loop, &u.t);
    u.t.data = &u;
    uv_timer_start(&u.t, uvtest_until_cb, 1, 1);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&u.t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *counter >= want;
}

#endif

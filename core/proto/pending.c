/*
 * pending.c -- see pending.h: the table of requests in flight and the one
 * dispatcher their answers come to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

static void release(hs_node *n, hs_pending *e)
{
    if (e->kind->release)
        e->kind->release(n, e->data);
    else
        free(e->data);
    e->data = NULL;
}

static void take_out(hs_pending_table *t, hs_pending *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        t->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        t->tail = e->prev;
    e->prev = e->next = NULL;
    t->inflight[e->kind->slot]--;
}

static void on_answer(void *ud, const hs_http_result *res)
{
    hs_pending *e = ud;
    hs_node *n = e->node;

    if (!e->cancelled) {
        hs_node_event_begin(n);
        take_out(&n->pending, e);
        /* The node closed while this was in flight: its answer is for
         * nobody (HS_ESTATE: the client cancelled it). */
        if (res->err == HS_ESTATE || n->closing) {
            if (e->kind->cancel)
                e->kind->cancel(n, e);
        } else {
            e->kind->done(n, e, res);
        }
        release(n, e);
        hs_node_event_end(n);
    }
    free(e);
}

hs_pending *hs_pending_new(hs_node *n, const hs_pending_kind *kind, const char *peer,
                           const char *base)
{
    size_t blen = strlen(base);
    hs_pending *e = malloc(sizeof *e + blen + 1);

    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->node = n;
    if (peer) { /* truncated to fit, as snprintf did (a copy: this is per request) */
        size_t plen = strnlen(peer, sizeof e->peer - 1);
        memcpy(e->peer, peer, plen);
        e->peer[plen] = '\0';
    }
    e->url = memcpy((char *)(e + 1), base, blen + 1);
    e->header = n->from_header;
    return e;
}

hs_err hs_pending_send(hs_pending *e, const char *method, const char *path, const char *body,
                       size_t len, double timeout_s)
{
    hs_node *n = e->node;
    hs_pending_table *t = &n->pending;
    size_t blen = strlen(e->url), plen = strlen(path), need = blen + plen + 1;
    char buf[HS_URL_MAX + 32 + 3 * HS_URL_MAX], *url = buf;
    hs_err err = HS_ESTATE; /* nothing goes out of a closing node */

    if (!n->closing && (need <= sizeof buf || (url = malloc(need)))) {
        memcpy(url, e->url, blen);
        memcpy(url + blen, path, plen + 1);
        err = hs_http_client_request(n->client, method, url, body, len, e->header, timeout_s,
                                     on_answer, e);
    } else if (!n->closing) {
        err = HS_ENOMEM;
    }
    if (url && url != buf)
        free(url);
    if (err != HS_OK) {
        release(n, e);
        free(e);
        return err;
    }
    e->id = ++t->last_id;
    e->prev = t->tail;
    if (t->tail)
        t->tail->next = e;
    else
        t->head = e;
    t->tail = e;
    t->inflight[e->kind->slot]++;
    return HS_OK;
}

size_t hs_pending_inflight(const hs_pending_table *t, hs_pending_slot slot)
{
    return t->inflight[slot];
}

void hs_pending_cancel_all(hs_node *n)
{
    hs_pending_table *t = &n->pending;

    while (t->head) {
        hs_pending *e = t->head;
        take_out(t, e);
        e->cancelled = 1;
        if (e->kind->cancel)
            e->kind->cancel(n, e);
        release(n, e);
    }
}

/*
 * io.c -- see io.h: the functions of the server and the client, on any
 * transport.
 */
#include <stdlib.h>
#include <string.h>

#include "io.h"

json_t *hs_http_error_json(const char *reason)
{
    return json_pack("{s:s, s:s}", "status", "error", "error", reason);
}

char *hs_http_error_text(const char *reason, size_t *len)
{
    json_t *j = hs_http_error_json(reason);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    *len = text ? strlen(text) : 0;
    return text;
}

int hs_http_valid_method(const char *m)
{
    size_t n = 0;

    for (; m[n]; n++)
        if (!((m[n] >= 'A' && m[n] <= 'Z') || m[n] == '-' || m[n] == '_'))
            return 0;
    return n > 0 && n <= 16;
}

/* ---- the server ---------------------------------------------------------- */

uint16_t hs_http_server_port(const hs_http_server *s)
{
    return s->ops->port(s);
}

unsigned long hs_http_server_drained(const hs_http_server *s)
{
    return s->ops->drained(s);
}

unsigned long hs_http_server_fd_exhausted(const hs_http_server *s)
{
    return s->ops->fd_exhausted(s);
}

unsigned long hs_http_server_tls_refused(const hs_http_server *s)
{
    return s->ops->tls_refused(s);
}

unsigned long hs_http_server_allow_refused(const hs_http_server *s)
{
    return s->ops->allow_refused(s);
}

int hs_http_server_answer(hs_http_server *s, uint64_t token, unsigned status, char *body,
                          size_t len)
{
    return s->ops->answer(s, token, status, body, len);
}

const char *hs_http_request_header(const hs_http_request *req, const char *name)
{
    return req->server->ops->header(req, name);
}

const char *hs_http_request_arg(const hs_http_request *req, const char *name)
{
    return req->server->ops->arg(req, name);
}

void hs_http_server_close(hs_http_server *s, void (*done)(void *ud), void *ud)
{
    s->ops->close(s, done, ud);
}

/* ---- the client ---------------------------------------------------------- */

/* A request's callback, with its client: the bytes of the answer are
 * counted on the way (GET /metrics). */
typedef struct counted {
    hs_http_cb cb;
    void *ud;
    hs_http_client *c;
} counted;

static void on_answer(void *ud, const hs_http_result *res)
{
    counted k = *(counted *)ud;

    free(ud);
    if (res->err == HS_OK)
        k.c->bytes_in += res->len;
    k.cb(k.ud, res);
}

hs_err hs_http_client_request(hs_http_client *c, const char *method, const char *url,
                              const char *body, size_t len, const char *header, double timeout_s,
                              hs_http_cb cb, void *ud)
{
    counted *k;
    hs_err err;

    if (!cb)
        return HS_EINVAL;
    if (!(k = malloc(sizeof *k)))
        return HS_ENOMEM;
    *k = (counted){cb, ud, c};
    err = c->ops->request(c, method, url, body, len, header, timeout_s, on_answer, k);
    if (err != HS_OK)
        free(k);
    else
        c->bytes_out += body ? len : 0;
    return err;
}

unsigned long hs_http_client_requests(const hs_http_client *c)
{
    return c->ops->requests(c);
}

unsigned long hs_http_client_connects(const hs_http_client *c)
{
    return c->ops->connects(c);
}

size_t hs_http_client_inflight(const hs_http_client *c)
{
    return c->ops->inflight(c);
}

size_t hs_http_client_idle(const hs_http_client *c)
{
    return c->ops->idle(c);
}

void hs_http_client_refused(const hs_http_client *c, hs_http_refused *out)
{
    c->ops->refused(c, out);
}

void hs_http_client_close(hs_http_client *c, void (*done)(void *ud), void *ud)
{
    c->ops->close(c, done, ud);
}

/*
 * err.c -- hs_strerror(): the one table of error texts.
 */
#include "hearsay.h"

const char *hs_strerror(hs_err err)
{
    switch (err) {
    case HS_OK:
        return "success";
    case HS_ENOMEM:
        return "out of memory";
    case HS_EINVAL:
        return "invalid argument";
    case HS_EPROTO:
        return "protocol error";
    case HS_EIO:
        return "input/output error";
    case HS_ESTATE:
        return "operation not valid in this state";
    case HS_ENOENT:
        return "no such entry";
    case HS_ETOOBIG:
        return "input exceeds its size cap";
    case HS_EDUP:
        return "already present";
    case HS_EPERM:
        return "not allowed by the security settings";
    case HS_EREFUSED:
        return "refused by a handler";
    }
    return "unknown error";
}

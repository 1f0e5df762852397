/*
 * ui.c -- GET /ui: a read-only dashboard (core/ui/: one page, its script
 * and its style, compiled in by core/ui_embed.cmake), served with a strict
 * Content-Security-Policy: nothing but this node's own files and its own
 * JSON endpoints, no inline code, no external request.
 */
#include <string.h>

#include "ui.h"

extern const unsigned char hs_ui_index_html[], hs_ui_app_js[], hs_ui_app_css[], hs_ui_favicon_svg[];
extern const size_t hs_ui_index_html_len, hs_ui_app_js_len, hs_ui_app_css_len,
    hs_ui_favicon_svg_len;

const char hs_ui_csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                         "form-action 'none'; frame-ancestors 'none'";

int hs_ui_asset(const char *path, const char **body, size_t *len, const char **type)
{
    if (strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0) {
        *body = (const char *)hs_ui_index_html;
        *len = hs_ui_index_html_len;
        *type = "text/html; charset=utf-8";
    } else if (strcmp(path, "/ui/app.js") == 0) {
        *body = (const char *)hs_ui_app_js;
        *len = hs_ui_app_js_len;
        *type = "text/javascript; charset=utf-8";
    } else if (strcmp(path, "/ui/app.css") == 0) {
        *body = (const char *)hs_ui_app_css;
        *len = hs_ui_app_css_len;
        *type = "text/css; charset=utf-8";
    } else if (strcmp(path, "/ui/favicon.svg") == 0) {
        *body = (const char *)hs_ui_favicon_svg;
        *len = hs_ui_favicon_svg_len;
        *type = "image/svg+xml";
    } else {
        return 0;
    }
    return 1;
}

/*
 * ui.h -- the dashboard's files (ui.c).
 */
#ifndef HS_UI_H
#define HS_UI_H

#include <stddef.h>

/* The Content-Security-Policy the dashboard's files are served with. */
extern const char hs_ui_csp[];

/* The file at path (/ui, /ui/app.js, /ui/app.css, /ui/favicon.svg): 1 with its bytes
 * (static), length and content type; 0 for another path. */
int hs_ui_asset(const char *path, const char **body, size_t *len, const char **type);

#endif

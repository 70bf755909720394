/*
 * The dashboard's files, compiled in by web/embed.py (ADR 0014), and in the same form the
 * OpenAPI description of the HTTP API, doc/openapi.json (ADR 0028).
 */
#ifndef MARKR_INTERFACES_HTTP_DASHBOARD_ASSETS_H
#define MARKR_INTERFACES_HTTP_DASHBOARD_ASSETS_H

#include <stddef.h>

struct markr_asset {
    const char *name;       /* file name, e.g. "app.js"; NULL ends the table */
    const char *media_type;
    const unsigned char *bytes;
    size_t len;
};

extern const struct markr_asset markr_assets[];
/* One entry, "openapi.json", then the end. */
extern const struct markr_asset markr_openapi[];

#endif

/*
 * The views reader over one PostgreSQL connection of the adapter (pg_store.h).
 */
#ifndef MARKR_INTERFACES_PG_VIEWS_H
#define MARKR_INTERFACES_PG_VIEWS_H

#include "application/views.h"

struct markr_pg;

struct markr_views_reader markr_pg_views_reader(struct markr_pg *pg);

#endif

/*
 * The import formats this build reads: the one table every acceptance path judges with
 * (the synchronous import, the queue, reprocessing). A new format is a parser adapter and
 * one entry in formats.c.
 */
#ifndef MARKR_INTERFACES_CLI_FORMATS_H
#define MARKR_INTERFACES_CLI_FORMATS_H

#include "application/formats.h"

/* The table, built on first use; valid for the life of the process. Thread-safe. */
struct markr_formats markr_import_formats(void);

#endif

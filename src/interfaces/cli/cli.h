/*
 * The command line: `markr serve | migrate [--status] | import FILE... | --help | --version`.
 * This is the composition root: it reads the settings, builds the adapters (PostgreSQL,
 * XML, HTTP) and hands them to the use cases through their ports.
 */
#ifndef MARKR_INTERFACES_CLI_H
#define MARKR_INTERFACES_CLI_H

#include <stdio.h>

/* Runs the command named by argv; prints to out and err. Returns the process exit status:
 * 0 success, 1 the command failed (a refused document, an unreachable database...),
 * 2 bad usage or a bad setting. */
int markr_cli_main(int argc, char **argv, FILE *out, FILE *err);

#endif

/*
 * `markr reprocess`: rebuild marks from the import vault. See ADR 0010.
 */
#ifndef MARKR_INTERFACES_CLI_CMD_REPROCESS_H
#define MARKR_INTERFACES_CLI_CMD_REPROCESS_H

#include <stdio.h>

/* argv holds the arguments after `reprocess`. Returns the exit status: 0 done (or, dry,
 * reported), 1 failed (nothing written), 2 bad usage. */
int markr_cli_reprocess(const char *database_url, const char *migrations_dir, int argc, char **argv, FILE *out,
                        FILE *err);

#endif

/*
 * What each markr command says about itself: `markr COMMAND --help` (stdout, exit 0) gives
 * its usage, options, the settings it reads and its exit statuses; a wrong option or argument
 * is refused with the usage line on stderr and exit status 2. One table of texts, so that
 * every command answers alike (markr(1) says the same at length).
 */
#ifndef MARKR_INTERFACES_CLI_HELP_H
#define MARKR_INTERFACES_CLI_HELP_H

#include <stdio.h>

/* 1 when command is one of markr's (serve, migrate, import, reprocess). */
int markr_cli_is_command(const char *command);

/* 1 when the arguments after the command ask for help (--help or -h before any "--"). */
int markr_cli_wants_help(int argc, char **argv);

/* Prints the help of command (NULL: markr's own overview) to out. Returns 0. */
int markr_cli_help(const char *command, FILE *out);

/* Prints "markr COMMAND: problem", the command's usage line and where its help is to err.
 * Returns 2, the exit status of bad usage. */
int markr_cli_usage_error(const char *command, FILE *err, const char *problem);

#endif

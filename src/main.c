/*
 * Entry point of the markr executable. Everything else lives behind markr_cli_main, so the
 * command line is testable without a process.
 */
#include <stdio.h>

#include "interfaces/cli/cli.h"

int main(int argc, char **argv)
{
    return markr_cli_main(argc, argv, stdout, stderr);
}

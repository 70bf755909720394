/*
 * Runs validate.mjs against a real markr server on a real database: a suite database,
 * migrated, a server with an admin token, then `node validate.mjs URL FIXTURE TOKEN`; passes
 * when node exits 0. node_modules must be installed (`make test` runs `npm ci --prefix
 * tests/openapi`); when it is not, this fails and says how, it never skips.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

extern char **environ;

#define ADMIN_TOKEN "openapi-admin-token-0123456789"

int main(void)
{
    const char *script = getenv("MARKR_OPENAPI_SCRIPT"), *fixture = getenv("MARKR_FIXTURE");
    static const char *const env[] = {"MARKR_ADMIN_TOKEN=" ADMIN_TOKEN, NULL};
    char modules[1024], *conninfo;
    struct markr_server srv;
    struct stat st;
    pid_t pid;
    int status = -1;

    if (script == NULL || fixture == NULL) {
        fprintf(stderr, "MARKR_OPENAPI_SCRIPT and MARKR_FIXTURE must be set (meson test sets them)\n");
        return 1;
    }
    snprintf(modules, sizeof(modules), "%s", script);
    snprintf(modules + (strrchr(modules, '/') - modules), sizeof(modules) - (size_t)(strrchr(modules, '/') - modules),
             "/node_modules/ajv");
    if (stat(modules, &st) != 0) {
        fprintf(stderr, "the OpenAPI test needs %s: run `make test` (it runs `npm ci --prefix tests/openapi`)\n",
                modules);
        return 1;
    }
    if (e2e_suite_start("markr_e2e_openapi", env, &srv, &conninfo) != 0)
        return 1;
    {
        char *argv[] = {"node", (char *)script, srv.base_url, (char *)fixture, ADMIN_TOKEN, NULL};

        if (posix_spawnp(&pid, "node", NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid)
            status = -1;
    }
    if (e2e_suite_stop(&srv, conninfo) != 0)
        status = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "OpenAPI test failed (node status %d)\n", status);
        return 1;
    }
    return 0;
}

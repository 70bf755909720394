/*
 * Runs the browser test (dashboard.mjs) against real markr servers on a real database:
 * makes and migrates a database, starts a server without tokens and one that needs a reader
 * token for names and marks, runs `node dashboard.mjs URL DIR TOKEN_URL TOKEN`, and passes
 * when node exits 0. node_modules must be installed (`make test` runs `npm ci`); when
 * it is not, this fails and says how to install it, it never skips.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "test_db.h"

extern char **environ;

#define READER_TOKEN "browser-reader-token-0123456789"

int main(void)
{
    const char *script = getenv("MARKR_BROWSER_SCRIPT"), *shots = getenv("MARKR_SCREENSHOT_DIR");
    char modules[1024], *conninfo;
    struct markr_server srv, guarded;
    static const char *const guarded_env[] = {"MARKR_READER_TOKENS=" READER_TOKEN, NULL};
    struct stat st;
    pid_t pid;
    int status = -1;

    if (script == NULL || shots == NULL) {
        fprintf(stderr, "MARKR_BROWSER_SCRIPT and MARKR_SCREENSHOT_DIR must be set (meson test sets them)\n");
        return 1;
    }
    snprintf(modules, sizeof(modules), "%.*s/node_modules/playwright-core", (int)(strrchr(script, '/') - script), script);
    if (stat(modules, &st) != 0 || stat("/usr/bin/chromium", &st) != 0) {
        fprintf(stderr, "the browser test needs %s and /usr/bin/chromium: run `make test` (it runs scripts/deps.sh "
                        "and `npm ci --prefix tests/browser`)\n", modules);
        return 1;
    }
    conninfo = markr_test_db_create("browser");
    if (e2e_migrate(conninfo) != 0 || e2e_server_start(&srv, conninfo, NULL) != 0)
        return 1;
    if (e2e_server_start(&guarded, conninfo, guarded_env) != 0) {
        e2e_server_stop(&srv, SIGKILL);
        return 1;
    }
    {
        char *argv[] = {"node", (char *)script, srv.base_url, (char *)shots, guarded.base_url, READER_TOKEN, NULL};

        if (posix_spawnp(&pid, "node", NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid)
            status = -1;
    }
    if (e2e_server_stop_clean(&srv) != 0)
        status = -1;
    if (e2e_server_stop_clean(&guarded) != 0)
        status = -1;
    markr_test_db_drop(conninfo);
    free(conninfo);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "browser test failed (node status %d)\n", status);
        return 1;
    }
    return 0;
}

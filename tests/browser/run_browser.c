/*
 * Runs the browser test (dashboard.mjs) against real markr servers on a real database:
 * makes and migrates a database, starts a server without tokens and one that needs a reader
 * token for names and marks (and an operator token for the vault), stores a document whose
 * Content-Type browsers read as HTML, runs
 * `node dashboard.mjs URL DIR TOKEN_URL TOKEN XSS_ID OPERATOR_TOKEN`, and passes
 * when node exits 0. node_modules (playwright-core, axe-core) must be installed (`make test`
 * runs `npm ci`); when it is not, this fails and says how to install it, it never skips.
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
#define OPERATOR_TOKEN "browser-operator-token-9876543210"
/* Sets a mark on the window that would run it, and tells its parent. */
#define XSS_BODY "<script>window.top.markrXss = 1; parent.postMessage(\"xss\", \"*\");</script>"

int main(void)
{
    const char *script = getenv("MARKR_BROWSER_SCRIPT"), *shots = getenv("MARKR_SCREENSHOT_DIR");
    char modules[1024], axe[1024], *conninfo, *xss_id;
    struct markr_server srv, guarded;
    static const char *const guarded_env[] = {"MARKR_READER_TOKENS=" READER_TOKEN,
                                              "MARKR_OPERATOR_TOKENS=" OPERATOR_TOKEN, NULL};
    struct stat st;
    pid_t pid;
    int status = -1;

    if (script == NULL || shots == NULL) {
        fprintf(stderr, "MARKR_BROWSER_SCRIPT and MARKR_SCREENSHOT_DIR must be set (meson test sets them)\n");
        return 1;
    }
    snprintf(modules, sizeof(modules), "%.*s/node_modules/playwright-core", (int)(strrchr(script, '/') - script), script);
    snprintf(axe, sizeof(axe), "%.*s/node_modules/axe-core", (int)(strrchr(script, '/') - script), script);
    if (stat(modules, &st) != 0 || stat(axe, &st) != 0 || stat("/usr/bin/chromium", &st) != 0) {
        fprintf(stderr, "the browser test needs %s, %s and /usr/bin/chromium: run `make test` (it runs scripts/deps.sh "
                        "and `npm ci --prefix tests/browser`)\n", modules, axe);
        return 1;
    }
    conninfo = markr_test_db_create("browser");
    if (e2e_migrate(conninfo) != 0 || e2e_server_start(&srv, conninfo, NULL) != 0)
        return 1;
    if (e2e_server_start(&guarded, conninfo, guarded_env) != 0) {
        e2e_server_stop(&srv, SIGKILL);
        return 1;
    }
    /* A document stored as older uploads could store it: a Content-Type that browsers read
     * as HTML, and a script for a body. The browser must never run it (dashboard.mjs). */
    xss_id = markr_test_db_value(conninfo,
                                 "WITH body AS (SELECT convert_to('" XSS_BODY "', 'UTF8') AS b), i AS (\n"
                                 "  INSERT INTO imports (content_type, size_bytes, sha256, status, reason, result_count)\n"
                                 "  SELECT 'text/xml+markr;,text/html', length(b), sha256(b), 'rejected',\n"
                                 "         '{\"error\":\"malformed_xml\"}', 0 FROM body\n"
                                 "  RETURNING id)\n"
                                 "INSERT INTO import_chunks (import_id, seq, bytes)\n"
                                 "SELECT i.id, 0, b FROM i, body RETURNING import_id");
    if (xss_id == NULL) {
        e2e_server_stop(&srv, SIGKILL);
        e2e_server_stop(&guarded, SIGKILL);
        return 1;
    }
    {
        char *argv[] = {"node", (char *)script, srv.base_url, (char *)shots, guarded.base_url, READER_TOKEN,
                        xss_id, OPERATOR_TOKEN, NULL};

        if (posix_spawnp(&pid, "node", NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid)
            status = -1;
    }
    if (e2e_server_stop_clean(&srv) != 0)
        status = -1;
    if (e2e_server_stop_clean(&guarded) != 0)
        status = -1;
    markr_test_db_drop(conninfo);
    free(conninfo);
    free(xss_id);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "browser test failed (node status %d)\n", status);
        return 1;
    }
    return 0;
}

/*
 * sd_notify(3) from libsystemd: the protocol is a datagram on the socket named by
 * NOTIFY_SOCKET; the library does nothing (and returns 0) when that is unset. A failure
 * to notify is logged but never stops the server: systemd then times the start out itself.
 */
#include "service_manager.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "interfaces/observe/log.h"

static void notify(const char *state)
{
    int rc = sd_notify(0, state);

    if (rc < 0) {
        char why[64];

        snprintf(why, sizeof(why), "%s", strerror(-rc));
        markr_log(MARKR_LOG_WARN, "cannot notify the service manager", "state", state, "error", why, NULL);
    }
}

static void on_ready(const char *address)
{
    char state[320];

    snprintf(state, sizeof(state), "READY=1\nSTATUS=listening on %s", address);
    notify(state);
}

static void on_stopping(void)
{
    notify("STOPPING=1\nSTATUS=stopping: finishing the requests in flight");
}

const struct markr_http_lifecycle markr_service_manager = {.ready = on_ready, .stopping = on_stopping};

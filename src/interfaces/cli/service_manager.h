/*
 * Tells a service manager how `markr serve` is doing, with systemd's notification protocol
 * (sd_notify(3)): READY=1 once the listener is up (the schema was checked before), and
 * STOPPING=1 when shutdown begins, so that `Type=notify` units start their dependants only
 * when Markr answers and `systemctl stop` shows the drain. Without a service manager
 * (NOTIFY_SOCKET unset: a shell, a container, the tests) every call does nothing.
 */
#ifndef MARKR_INTERFACES_CLI_SERVICE_MANAGER_H
#define MARKR_INTERFACES_CLI_SERVICE_MANAGER_H

#include "interfaces/http/server.h"

/* The hooks for markr_http_settings.lifecycle. */
extern const struct markr_http_lifecycle markr_service_manager;

#endif

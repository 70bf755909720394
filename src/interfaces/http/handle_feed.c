/*
 * GET /feed: where the live score feed stands, answered on the loop from the feed client's
 * own status (no database), as /metrics is.
 */
#include "application/feed.h"
#include "handlers.h"
#include "responses.h"

int markr_handle_feed(struct markr_http_handler *handler, h2o_req_t *req, const struct markr_route_match *match)
{
    struct markr_feed_status status;
    struct markr_error err;
    json_object *body;

    if (markr_get_feed_status(handler->settings->feed, &status, &err) != 0) {
        markr_http_send_error(req, &err, 0);
        return 0;
    }
    body = json_object_new_object();
    json_object_object_add(body, "url", markr_json_string(status.url));
    json_object_object_add(body, "connected", json_object_new_boolean(status.connected));
    json_object_object_add(body, "held", json_object_new_boolean(status.held));
    json_object_object_add(body, "last_event_id",
                           status.last_event_id[0] != '\0' ? markr_json_string(status.last_event_id) : NULL);
    json_object_object_add(body, "events_accepted", json_object_new_uint64(status.events_accepted));
    json_object_object_add(body, "events_refused", json_object_new_uint64(status.events_refused));
    json_object_object_add(body, "events_ignored", json_object_new_uint64(status.events_ignored));
    json_object_object_add(body, "reconnects", json_object_new_uint64(status.reconnects));
    json_object_object_add(body, "last_event_at",
                           status.last_event_at[0] != '\0' ? markr_json_string(status.last_event_at) : NULL);
    markr_http_send_json(req, 200, body);
    return 0;
}

-- 0007_feed: where the live score feed (MARKR_FEED_URL) stands (ADR 0027).
--
-- One row per feed, named by its URL without credentials. last_event_id is the id of the
-- last event stored (in the same transaction as the vault row and the marks of the batch
-- that carried it), sent as Last-Event-ID on every connection. generation grows by one each
-- time an instance takes the feed (under a session advisory lock on a connection of its
-- own); a batch is stored only while its instance's generation is still the row's, so an
-- instance that lost the feed without knowing it cannot move the position back.
CREATE TABLE feed_positions (
    feed          text        PRIMARY KEY CHECK (octet_length(feed) BETWEEN 1 AND 2048),
    last_event_id text        NOT NULL DEFAULT '' CHECK (octet_length(last_event_id) <= 255),
    generation    bigint      NOT NULL DEFAULT 0 CHECK (generation >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Feeds, one fetch-log row per feed per run, and the articles they produced.

CREATE TABLE feeds (
    id                   serial PRIMARY KEY,
    url                  text NOT NULL UNIQUE,
    name                 text NOT NULL,
    lang                 text,
    enabled              boolean NOT NULL DEFAULT true,
    tags                 text[] NOT NULL DEFAULT '{}',
    -- HTTP caching state, advanced in the same transaction as the articles it produced
    etag                 text,
    last_modified        text,
    ttl_seconds          integer,
    -- health
    last_checked_at      timestamptz,
    last_ok_at           timestamptz,
    last_new_at          timestamptz,
    last_status          text,
    http_status          integer,
    consecutive_failures integer NOT NULL DEFAULT 0,
    last_error           text,
    next_due_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fetch_log (
    id          bigserial PRIMARY KEY,
    run_id      text NOT NULL,
    feed_id     integer NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    started_at  timestamptz NOT NULL,
    status      text NOT NULL,  -- ok | not_modified | failed | skipped | refused
    http_status integer,
    items_seen  integer NOT NULL DEFAULT 0,
    new_items   integer NOT NULL DEFAULT 0,
    bytes       integer,
    ms          integer,
    bozo        text,           -- why feedparser found the feed ill-formed, when it did
    error       text,
    UNIQUE (run_id, feed_id)
);
CREATE INDEX fetch_log_feed_started ON fetch_log (feed_id, started_at DESC);

CREATE TABLE articles (
    id                bigserial PRIMARY KEY,
    url               text NOT NULL UNIQUE,  -- canonical URL
    entry_url         text,                  -- the link as the feed gave it
    feed_id           integer REFERENCES feeds (id) ON DELETE SET NULL,
    outlet            text,                  -- host of the canonical URL, e.g. tass.com
    guid              text,
    title             text,
    author            text,
    summary           text,
    published_at      timestamptz,
    fetched_at        timestamptz NOT NULL DEFAULT now(),
    lang              text,
    body              text,
    content_hash      text,                  -- same story syndicated under other URLs shares it
    extraction_status text NOT NULL,         -- pending | page | summary | title_only | duplicate
    extraction_error  text,
    duplicate_of      bigint REFERENCES articles (id) ON DELETE SET NULL, -- same page under another URL
    detected_version  text,                  -- detector version that last read this article
    search            tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(body, ''))
    ) STORED
);
CREATE INDEX articles_guid ON articles (guid);
CREATE INDEX articles_entry_url ON articles (entry_url);
CREATE INDEX articles_content_hash ON articles (content_hash);
CREATE INDEX articles_published ON articles (published_at DESC);
CREATE INDEX articles_search ON articles USING gin (search);
CREATE INDEX articles_undetected ON articles (id) WHERE detected_version IS NULL;

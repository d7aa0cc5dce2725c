-- Detected mentions, the real-world events they cluster into, and the alert outbox.

CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    type         text NOT NULL,     -- meeting | call | agreement | military | policy | economic
    status       text NOT NULL,     -- held | planned | postponed | cancelled
    event_date   date,
    location     text,
    participants jsonb NOT NULL DEFAULT '[]',  -- [{name, person_id, country, role, level}]
    people       text[] NOT NULL DEFAULT '{}', -- gazetteer ids, for "who met whom"
    level        text,              -- lower side's highest level
    round        integer,
    headline     text,
    cameo        text,
    plover       text,
    background   boolean NOT NULL DEFAULT false, -- only ever reported as an old event recalled
    first_seen   timestamptz NOT NULL DEFAULT now(),
    last_seen    timestamptz NOT NULL DEFAULT now(),
    n_articles   integer NOT NULL DEFAULT 0,
    n_outlets    integer NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_date ON events (event_date DESC);
CREATE INDEX events_type_date ON events (type, event_date);

CREATE TABLE event_mentions (
    id               bigserial PRIMARY KEY,
    article_id       bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    ordinal          integer NOT NULL,   -- position among the article's mentions
    event_id         bigint REFERENCES events (id) ON DELETE SET NULL,
    type             text NOT NULL,
    status           text NOT NULL,
    event_date       date,
    date_text        text,
    location         text,
    participants     jsonb NOT NULL DEFAULT '[]',
    level            text,
    round            integer,
    evidence         text NOT NULL,
    highlights       jsonb NOT NULL DEFAULT '[]', -- [[start, end], ...] within evidence
    confidence       real NOT NULL,
    cameo            text,
    plover           text,
    background       boolean NOT NULL DEFAULT false,
    detector_version text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, ordinal)
);
CREATE INDEX event_mentions_event ON event_mentions (event_id);

CREATE TABLE alerts (
    id          bigserial PRIMARY KEY,
    event_id    bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    channel     text NOT NULL,  -- slack | email | console
    kind        text NOT NULL,  -- new | update
    status      text NOT NULL DEFAULT 'pending',  -- pending | sent | failed | muted
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (event_id, channel, kind)
);
CREATE INDEX alerts_pending ON alerts (id) WHERE status = 'pending';

-- The alert outbox's delivery bookkeeping and the operators' mutes.

ALTER TABLE alerts
    ADD COLUMN event_status text,        -- the event status this alert announced (planned | held)
    ADD COLUMN muted_by     text,        -- which mute suppressed it, when status = 'muted'
    ADD COLUMN last_try_at  timestamptz; -- when the last delivery attempt ended

ALTER TABLE alerts
    ADD CONSTRAINT alerts_kind_check CHECK (kind IN ('new', 'update')),
    ADD CONSTRAINT alerts_status_check CHECK (status IN ('pending', 'sent', 'failed', 'muted'));

-- Senders take pending rows oldest first.
CREATE INDEX alerts_pending_order ON alerts (created_at, id) WHERE status = 'pending';

-- Mutes operators add without a deploy (SQL or `sinorus mute`); every set field must match.
CREATE TABLE alert_mutes (
    id         serial PRIMARY KEY,
    person_id  text,          -- gazetteer id of a participant
    type       text,          -- event type
    outlet     text,          -- host, e.g. tass.com: mutes events only this outlet reported
    until      timestamptz,   -- NULL: until removed
    reason     text NOT NULL,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (person_id IS NOT NULL OR type IS NOT NULL OR outlet IS NOT NULL)
);

-- Follow-ups for an announced event later reported postponed or cancelled (kind 'update' stays
-- the "took place" follow-up), and rows closed without being sent: 'superseded' when the event
-- moved on before the row went out, 'discarded' by an operator (`sinorus alerts discard`).
-- At most one row per (event, channel, kind) still holds: each follow-up is its own kind.

ALTER TABLE alerts
    DROP CONSTRAINT alerts_kind_check,
    DROP CONSTRAINT alerts_status_check;

ALTER TABLE alerts
    ADD COLUMN closed_at     timestamptz,  -- when the row was superseded or discarded
    ADD COLUMN closed_by     text,         -- the operator who discarded it, or 'sinorus'
    ADD COLUMN closed_reason text;         -- why it will not be sent

ALTER TABLE alerts
    ADD CONSTRAINT alerts_kind_check
        CHECK (kind IN ('new', 'update', 'postponed', 'cancelled')),
    ADD CONSTRAINT alerts_status_check
        CHECK (status IN ('pending', 'sent', 'failed', 'muted', 'superseded', 'discarded')),
    ADD CONSTRAINT alerts_closed_reason_check
        CHECK (status NOT IN ('superseded', 'discarded') OR closed_reason IS NOT NULL);

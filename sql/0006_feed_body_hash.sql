-- Hash of the last feed body parsed, so a feed that ignores conditional GET but serves the same
-- bytes again costs no parsing.
ALTER TABLE feeds ADD COLUMN body_hash text;

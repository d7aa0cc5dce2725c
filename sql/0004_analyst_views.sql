-- Views analysts query directly, and the read-only group role they get access through.

-- Ranks levels so that "minister or higher" is `level_rank(level) <= level_rank('minister')`.
CREATE FUNCTION level_rank(level text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE level
    WHEN 'head_of_state' THEN 1
    WHEN 'head_of_government' THEN 2
    WHEN 'minister' THEN 3
    WHEN 'senior_official' THEN 4
    WHEN 'working' THEN 5
    ELSE 9
END;

-- "Xi Jinping (President, CN); Vladimir Putin (President, RU)" from a participants array.
CREATE FUNCTION participants_text(participants jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT string_agg(
        coalesce(nullif(p ->> 'name', ''), '?')
        || coalesce(
            ' (' || concat_ws(', ',
                coalesce(nullif(p ->> 'title', ''), replace(nullif(p ->> 'role', ''), '_', ' ')),
                nullif(p ->> 'country', '')) || ')',
            ''),
        '; ' ORDER BY ord)
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(participants) = 'array' THEN participants ELSE '[]'::jsonb END
    ) WITH ORDINALITY AS x (p, ord)
    WHERE jsonb_typeof(p) = 'object'
);

-- Meetings and calls at minister level or above, held or planned, in the last 90 days.
CREATE VIEW recent_high_level_meetings AS
SELECT e.id AS event_id,
       e.event_date,
       e.type,
       e.status,
       e.level,
       participants_text(e.participants) AS participants,
       e.location,
       e.round,
       e.headline,
       (SELECT string_agg(DISTINCT a.outlet, ', ')
          FROM event_mentions m JOIN articles a ON a.id = m.article_id
         WHERE m.event_id = e.id) AS outlets,
       e.n_outlets,
       e.n_articles,
       e.first_seen,
       e.last_seen,
       EXISTS (SELECT 1 FROM alerts al WHERE al.event_id = e.id AND al.status = 'sent') AS alerted
FROM events e
WHERE e.type IN ('meeting', 'call')
  AND level_rank(e.level) <= level_rank('minister')
  AND NOT e.background
  AND coalesce(e.event_date, e.first_seen::date) >= current_date - 90
ORDER BY coalesce(e.event_date, e.first_seen::date) DESC, e.id DESC;

-- Events per month and type. Recalled background events are left out: they are rarely dated
-- precisely and what the feeds happen to recall says nothing about the month they fall in.
CREATE VIEW event_timeline_monthly AS
SELECT date_trunc('month', coalesce(e.event_date, e.first_seen::date))::date AS month,
       e.type,
       count(*) AS events
FROM events e
WHERE NOT e.background
GROUP BY 1, 2
ORDER BY 1, 2;

-- Every Chinese × Russian pair of known people who met or spoke by phone (held, not recalled
-- background), with how often and when last.
CREATE VIEW who_met_whom AS
WITH people AS (
    SELECT e.id AS event_id,
           coalesce(e.event_date, e.first_seen::date) AS day,
           p ->> 'country' AS country,
           p ->> 'person_id' AS person_id,
           p ->> 'name' AS name
    FROM events e,
         jsonb_array_elements(
             CASE WHEN jsonb_typeof(e.participants) = 'array' THEN e.participants
                  ELSE '[]'::jsonb END
         ) AS p
    WHERE e.type IN ('meeting', 'call')
      AND e.status = 'held'
      AND NOT e.background
      AND jsonb_typeof(p) = 'object'
      AND coalesce(p ->> 'person_id', '') <> ''
)
SELECT cn.person_id AS cn_person_id,
       min(cn.name) AS cn_name,
       ru.person_id AS ru_person_id,
       min(ru.name) AS ru_name,
       count(DISTINCT cn.event_id) AS events,
       max(cn.day) AS last_date
FROM people cn
JOIN people ru ON ru.event_id = cn.event_id AND ru.country = 'RU'
WHERE cn.country = 'CN'
GROUP BY cn.person_id, ru.person_id
ORDER BY events DESC, last_date DESC, cn.person_id, ru.person_id;

-- How many events and mentions each outlet contributed.
CREATE VIEW events_by_outlet AS
SELECT a.outlet,
       count(DISTINCT m.event_id) AS events,
       count(*) AS mentions,
       max(a.published_at) AS last_published
FROM event_mentions m
JOIN articles a ON a.id = m.article_id
WHERE m.event_id IS NOT NULL
GROUP BY a.outlet
ORDER BY events DESC, mentions DESC, a.outlet;

-- Each feed's health, with the newest error the fetch log recorded for it.
CREATE VIEW feed_health AS
SELECT f.id AS feed_id,
       f.name,
       f.url,
       f.lang,
       f.enabled,
       f.last_status AS status,
       f.http_status,
       f.last_ok_at AS last_success,
       f.last_checked_at,
       f.consecutive_failures,
       f.next_due_at,
       (SELECT count(*) FROM articles a
         WHERE a.feed_id = f.id AND a.fetched_at > now() - interval '1 day') AS new_items_last_day,
       le.error AS last_error,
       le.started_at AS last_error_at
FROM feeds f
LEFT JOIN LATERAL (
    SELECT l.error, l.started_at
    FROM fetch_log l
    WHERE l.feed_id = f.id AND l.error IS NOT NULL AND l.error <> ''
    ORDER BY l.started_at DESC, l.id DESC
    LIMIT 1
) le ON true
ORDER BY f.enabled DESC, f.consecutive_failures DESC, f.name;

-- Roles are cluster-wide and several databases may be migrated at once: tolerate the race.
DO $$
BEGIN
    CREATE ROLE sinorus_reader NOLOGIN;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO sinorus_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO sinorus_reader;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO sinorus_reader;
GRANT EXECUTE ON FUNCTION level_rank(text), participants_text(jsonb) TO sinorus_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO sinorus_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO sinorus_reader;

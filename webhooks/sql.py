"""Set-based SQL of the webhook hot paths (intake and batch processing).

Every statement says which plan it relies on; `tests/webhooks/test_sql_plans.py` checks
those plans with EXPLAIN on a filled table.
"""

from __future__ import annotations

# --- intake -----------------------------------------------------------------------------

# One round trip per delivery: checks the cached config is still what the request was
# verified against, inserts the event and defers its job, in one statement (one commit).
#
# - `config`: join on the configs' primary key (a sequential scan while the table is a
#   few pages, as the planner prefers; configs are few). No row when the config
#   was deleted, deactivated, or its source/secret/require_signature changed since this
#   process cached it: nothing is inserted and the caller reloads the config.
# - `new`: ON CONFLICT on the partial unique index uniq_webhook_event_provider_id decides
#   between racing copies: the loser waits for the winner's commit and inserts nothing
#   (no savepoint, no error). Its row is then read by EVENT_EXISTING, a statement of its
#   own: this statement's snapshot predates the winner's commit.
# - `job`: procrastinate's own defer function, so its triggers (NOTIFY) fire as for any
#   job; zero jobs when nothing was inserted.
#
# The deliveries come as one JSON array (jsonb_to_recordset): one statement stores a
# whole group of concurrent deliveries (the ASGI route's group commit), and psycopg sends
# one text parameter instead of quoting arrays (flows/bulk.py: measured on the batch path).
# clock_timestamp(): deliveries of one group keep their arrival order in received_at.
EVENTS_ACCEPT = """
WITH delivery AS (
    SELECT d.* FROM jsonb_to_recordset(%(deliveries)s::jsonb) AS d(
        n int, id uuid, config uuid, source text, secret text, require_signature bool,
        provider_event_id text, payload jsonb, job_args jsonb)
), config AS (
    SELECT d.n FROM delivery d JOIN stitch_webhook_configs c ON c.id = d.config
    WHERE c.is_active AND c.source = d.source AND c.require_signature = d.require_signature
      AND c.secret IS NOT DISTINCT FROM d.secret
), new AS (
    INSERT INTO stitch_webhook_events AS e
        (id, webhook_config_id, received_at, payload, provider_event_id, status, accepted,
         attempts)
    SELECT d.id, d.config, clock_timestamp(), d.payload, d.provider_event_id, 'pending',
           true, 0
    FROM delivery d JOIN config USING (n)
    ORDER BY d.n
    ON CONFLICT (webhook_config_id, provider_event_id) WHERE provider_event_id IS NOT NULL
    DO NOTHING
    RETURNING e.id
), job AS (
    SELECT procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(%(queue)s, %(task)s, 0, NULL, NULL, d.job_args, NULL)
            ::procrastinate_job_to_defer_v1
        FROM delivery d JOIN new USING (id) ORDER BY d.n
    )) AS job_id
)
SELECT d.n, config.n IS NOT NULL AS config_ok, new.id IS NOT NULL AS created
FROM delivery d
LEFT JOIN config USING (n)
LEFT JOIN new USING (id)
CROSS JOIN (SELECT count(*) FROM job) AS deferred
ORDER BY d.n
"""

# The first copy of a repeated delivery. Plan: index scan on uniq_webhook_event_provider_id.
EVENT_EXISTING = """
SELECT id, status FROM stitch_webhook_events
WHERE webhook_config_id = %(config)s AND provider_event_id = %(provider_event_id)s
"""


# --- batch processing -------------------------------------------------------------------

# Counts an attempt on each event of a batch, committed on its own before processing
# (a crash must not undo the count: SPEC 7.5, bounded attempts): the job's own event
# (the leader; waits for a worker processing it right now, then matches nothing) and up
# to `more` other events whose jobs are waiting in the queue, skipping events another
# batch holds or picked within the lease. `claimed_at` is that lease: the event stays
# pending, so its own job (or the recovery sweep) still processes it if this batch dies.
#
# Plans: `leader` is a primary-key lookup; `queued` walks
# procrastinate_jobs_priority_idx_v1 (todo jobs by priority, id) and stops after `scan`
# rows (under statistics of a quiet queue, expecting one job, the planner reads the
# queue's jobs through procrastinate_jobs_queue_name_idx_v1 and sorts them instead: one
# read of the backlog per batch, ~10 ms for 5,000); `locked` probes
# stitch_webhook_events_pkey per job (tests/webhooks/
# test_sql_plans.py: a join of events to the queue written differently became a hash
# join over a sequential scan of all events). Rows are locked in id order
# so two batches never wait on each other in a cycle.
EVENTS_ATTEMPT = """
WITH leader AS (
    SELECT e.id FROM stitch_webhook_events e
    WHERE e.id = %(leader)s AND e.accepted
      AND (e.status = 'pending' OR (e.status = 'processing' AND e.claimed_at < %(stale)s))
    FOR UPDATE
), queued AS (
    -- The pattern test sits in the select list, not in WHERE: there it would make the
    -- planner expect almost no matching job and sort a sequential scan of the queue.
    SELECT j.id AS job_id,
           CASE WHEN j.args->>'event_id' ~ '^[0-9a-f-]{36}$'
                THEN (j.args->>'event_id')::uuid END AS event_id
    FROM procrastinate_jobs j
    WHERE j.status = 'todo' AND j.queue_name = %(queue)s AND j.task_name = %(task)s
      AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
    ORDER BY j.priority DESC, j.id
    LIMIT %(scan)s
), others AS (
    SELECT q.event_id AS id, min(q.job_id) AS job_id FROM queued q
    WHERE q.event_id IS NOT NULL AND q.event_id <> %(leader)s AND EXISTS (SELECT FROM leader)
    GROUP BY q.event_id
), locked AS (
    -- One array of ids probed in the primary key, not a join: planned for one row
    -- (statistics of a quiet moment), a join became a nested loop reading every pending
    -- event through idx_webhook_events_status once per queued job. COALESCE (status is
    -- never null) keeps that index out, which would still read them all once.
    SELECT e.id FROM stitch_webhook_events e
    WHERE e.id = ANY(ARRAY(SELECT id FROM others)) AND e.accepted
      AND COALESCE(e.status, '') = 'pending'
      AND (e.claimed_at IS NULL OR e.claimed_at < %(stale)s)
    ORDER BY e.id
    LIMIT %(more)s
    FOR UPDATE OF e SKIP LOCKED
), picked AS (
    SELECT id, NULL::bigint AS job_id FROM leader
    UNION ALL
    SELECT l.id, o.job_id FROM locked l JOIN others o ON o.id = l.id
)
UPDATE stitch_webhook_events e SET attempts = e.attempts + 1, claimed_at = clock_timestamp()
FROM picked WHERE e.id = picked.id
RETURNING e.id, picked.job_id
"""

# The batch's claim, inside its transaction: pending -> processing, row-locked to commit
# (in id order, like EVENTS_ATTEMPT). A row processed meanwhile by another job is
# re-checked after its lock is released and left out. Plan: pkey lookups (= ANY).
EVENTS_CLAIM = """
UPDATE stitch_webhook_events e SET status = 'processing', claimed_at = clock_timestamp()
WHERE e.id IN (
    SELECT id FROM stitch_webhook_events
    WHERE id = ANY(%(ids)s) AND accepted
      AND (status = 'pending' OR (status = 'processing' AND claimed_at < %(stale)s))
    ORDER BY id
    FOR UPDATE
)
RETURNING e.id
"""

# The other events' jobs are done with the batch (one commit): no worker fetches them.
# One fetched meanwhile (status doing) is left to run; it finds its event processed.
# Plan: procrastinate_jobs_pkey (= ANY).
JOBS_DELETE = """
DELETE FROM procrastinate_jobs WHERE id = ANY(%(ids)s) AND status = 'todo'
"""

# Find-or-create of the batch's entities by (canvas, email) in one statement: the unique
# index uniq_stitch_entities_canvas_email arbitrates (also against other batches and the
# API: the loser of a race waits and then updates), the metadata merge of an existing
# entity happens in SQL (top-level keys, the event's win, as `{**old, **new}`), and an
# avatar is only filled in where there was none. The returned rows are row-locked to
# commit (inserted, or updated by ON CONFLICT). A batch holds each (canvas, email) once:
# a second event about the same person goes into the next round (one row cannot be
# updated twice by one statement). Entities without e-mail are always new.
ENTITIES_UPSERT = """
INSERT INTO stitch_entities AS e
    (id, canvas_id, name, email, avatar_url, entity_type, journey, metadata, sequence,
     created_at, updated_at)
SELECT r.id, r.canvas, r.name, r.email, r.avatar_url, r.entity_type, '[]'::jsonb,
       r.metadata, 0, now(), now()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    n int, id uuid, canvas uuid, name text, email text, avatar_url text, entity_type text,
    metadata jsonb)
ORDER BY r.n
ON CONFLICT (canvas_id, email) DO UPDATE SET
    metadata = (CASE WHEN jsonb_typeof(e.metadata) = 'object' THEN e.metadata
                ELSE '{}'::jsonb END) || excluded.metadata,
    avatar_url = CASE WHEN coalesce(e.avatar_url, '') = ''
                      THEN coalesce(excluded.avatar_url, e.avatar_url)
                      ELSE e.avatar_url END,
    updated_at = now()
RETURNING e.*
"""

# The journey start of every entity of the batch (the columns a move owns, computed in
# Python by the entities' own rules). Plan: index scan of stitch_entities_pkey with
# = ANY(ids), hash-joined to the rows (without `ids` the planner, which expects 100 rows
# from any recordset, hash-joins a sequential scan of the whole table).
ENTITIES_MOVE = """
UPDATE stitch_entities e SET
    current_node_id = r.current_node_id, current_edge_id = r.current_edge_id,
    edge_progress = r.edge_progress, node_entered_at = r.node_entered_at,
    sequence = r.sequence, journey = r.journey, entity_type = r.entity_type,
    updated_at = now()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    id uuid, current_node_id text, current_edge_id text, edge_progress numeric,
    node_entered_at timestamptz, sequence bigint, journey jsonb, entity_type text)
WHERE e.id = r.id AND e.id = ANY(%(ids)s)
"""

# Every outcome of the batch (completed or failed, with its entity and run), committed
# with what processing wrote. Plan: as ENTITIES_MOVE, on stitch_webhook_events_pkey.
EVENTS_FINISH = """
UPDATE stitch_webhook_events e SET
    status = r.status, error = r.error, processed_at = now(),
    entity_id = coalesce(r.entity, e.entity_id),
    workflow_run_id = coalesce(r.run, e.workflow_run_id)
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    id uuid, status text, error text, entity uuid, run uuid)
WHERE e.id = r.id AND e.id = ANY(%(ids)s)
"""

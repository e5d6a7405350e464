"""Set-based SQL of the webhook hot paths (intake and batch processing).

Every statement says which plan it relies on; `tests/webhooks/test_sql_plans.py` checks
those plans with EXPLAIN on a filled table.
"""

from __future__ import annotations

# --- intake -----------------------------------------------------------------------------

# One round trip per delivery: checks the cached config is still what the request was
# verified against, inserts the event and defers its job, in one statement (one commit).
#
# - `config`: primary-key lookup (stitch_webhook_configs_pkey). No row when the config
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
# one text parameter instead of quoting arrays (measured: ~15% of intake CPU otherwise).
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

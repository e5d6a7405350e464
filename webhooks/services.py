"""Writes of inbound webhooks (SPEC 7): accept, refuse, process, replay, recover."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from entities.models import Entity
from entities.services import entity_journey_start_locked
from flows.engine import run_start
from flows.engine.jobs import defer_on_django
from flows.models import Run
from stitch import logs, observe, recovery
from stitch.dberrors import first_line, is_transient
from stitch.errors import FieldError
from stitch.models import User
from webhooks import batch, sql, tasks
from webhooks.mapping import MappedEntity, MappingError, entity_map
from webhooks.models import WebhookConfig, WebhookEvent, WebhookEventStatus

logger = logging.getLogger(__name__)

PENDING = WebhookEventStatus.PENDING
PROCESSING = WebhookEventStatus.PROCESSING
COMPLETED = WebhookEventStatus.COMPLETED
FAILED = WebhookEventStatus.FAILED


# --- intake -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What the intake answers: the event's id and status, and whether it is new."""

    id: UUID
    status: str
    created: bool


@dataclass(frozen=True)
class Delivery:
    """A verified delivery to store: its event id is made here, and its job's arguments
    carry the id of the request that brought it (stitch.logs)."""

    config: WebhookConfig
    payload: dict[str, Any]
    provider_event_id: str | None
    id: UUID
    job_args: dict[str, Any]


def delivery(
    *, config: WebhookConfig, payload: dict[str, Any], provider_event_id: str | None
) -> Delivery:
    event_id = uuid4()
    job_args = logs.job_kwargs({"event_id": str(event_id)})
    return Delivery(config, payload, provider_event_id, event_id, job_args)


def webhook_events_accept_params(deliveries: list[Delivery]) -> dict[str, Any]:
    """The parameters of sql.EVENTS_ACCEPT for these deliveries (one JSON document: see
    the statement)."""
    rows = [
        {
            "n": n,
            "id": str(d.id),
            "config": str(d.config.pk),
            "source": d.config.source,
            "secret": d.config.secret,
            "require_signature": d.config.require_signature,
            "provider_event_id": d.provider_event_id,
            "payload": d.payload,
            "job_args": d.job_args,
        }
        for n, d in enumerate(deliveries)
    ]
    return {
        "deliveries": json.dumps(rows, ensure_ascii=False, separators=(",", ":")),
        "queue": tasks.process_event.queue,
        "task": tasks.process_event.name,
    }


def webhook_event_accept(
    *, config: WebhookConfig, payload: dict[str, Any], provider_event_id: str | None
) -> Stored | None:
    """Store a verified delivery and defer its processing job: one statement, so one
    commit holds both (no event without a job, no job without an event).

    A repeat of a provider event id returns the first event and changes nothing, even
    when both copies arrive at the same instant (ON CONFLICT on the unique index; see
    sql.EVENTS_ACCEPT). None when the config is no longer what `config` says (deleted,
    deactivated, secret or source changed): nothing was stored, decide again."""
    stored = delivery(config=config, payload=payload, provider_event_id=provider_event_id)
    params = webhook_events_accept_params([stored])
    with connection.cursor() as cursor:  # autocommit: the statement is the transaction
        cursor.execute(sql.EVENTS_ACCEPT, params)
        ((_n, config_ok, created),) = cursor.fetchall()
    if not config_ok:
        return None
    if created:
        return Stored(stored.id, PENDING, True)
    return webhook_event_existing(config_id=config.pk, provider_event_id=provider_event_id)


def webhook_event_existing(*, config_id: Any, provider_event_id: str | None) -> Stored:
    """The first copy of a repeated delivery (read after the statement that lost)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.EVENT_EXISTING, {"config": config_id, "provider_event_id": provider_event_id}
        )
        row = cursor.fetchone()
    if row is None or provider_event_id is None:
        # Cannot happen: ON CONFLICT skips a row only for an existing id, and events are
        # deleted only with their config.
        raise DatabaseError("webhook event conflict without a first copy")
    return Stored(row[0], row[1], False)


# A refused delivery is kept for the audit trail, but anyone can send one: the first
# 64 KiB tell what it was without letting strangers fill the table (SPEC 7.2).
REFUSED_BODY_KEEP_BYTES = 64 * 1024


def _refused_payload(body: bytes, payload: dict[str, Any]) -> dict[str, Any]:
    if len(body) <= REFUSED_BODY_KEEP_BYTES:
        return payload
    # The body passed the JSON reader: UTF-8 without NUL, so its start is storable text
    # (a character cut in half at the end is dropped).
    excerpt = body[:REFUSED_BODY_KEEP_BYTES].decode("utf-8", errors="ignore")
    return {"truncated": True, "size": len(body), "excerpt": excerpt}


def webhook_event_refuse(
    *, config: WebhookConfig, body: bytes, payload: dict[str, Any], error: str
) -> WebhookEvent:
    """Log a refused delivery (at most its first REFUSED_BODY_KEEP_BYTES). It never claims
    the provider's event id, so a forged copy sent first cannot make the real delivery
    look like a repeat."""
    return WebhookEvent.objects.create(
        webhook_config=config,
        payload=_refused_payload(body, payload),
        provider_event_id=None,
        status=FAILED,
        accepted=False,
        error=error,
        processed_at=timezone.now(),
    )


# --- processing -----------------------------------------------------------------------


def _stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.WEBHOOK_RECOVERY_AFTER_SECONDS)


def _claim(event_id: Any) -> bool:
    # Conditional UPDATE as the claim: of several jobs for one event (a queue retry, a
    # sweep, a replay) only one moves it pending -> processing. The claim commits with the
    # outcome, so `processing` is never seen committed in normal operation; one older than
    # the recovery delay (an operator's edit, a restored backup) is taken over.
    claimable = Q(status=PENDING) | Q(status=PROCESSING, claimed_at__lt=_stale_before())
    updated = WebhookEvent.objects.filter(claimable, pk=event_id, accepted=True).update(
        status=PROCESSING, claimed_at=timezone.now()
    )
    return updated == 1


def _advisory_lock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _entity_merge(locked: Entity, mapped: MappedEntity) -> Entity:
    locked.metadata = {**(locked.metadata or {}), **mapped.metadata}
    if mapped.avatar_url and not locked.avatar_url:
        locked.avatar_url = mapped.avatar_url
    locked.save(update_fields=["metadata", "avatar_url", "updated_at"])
    return locked


def _entity_find_or_create(*, event: WebhookEvent, mapped: MappedEntity) -> Entity:
    """The event's entity, row-locked (found) or inserted by this transaction (new),
    with its canvas attached: the journey then starts on it without reading it again."""
    config = event.webhook_config
    # Row lock, taken by the lookup itself: a run or an operator may be writing this
    # entity's metadata (or moving it) right now; merging into or moving a copy read
    # without the lock would silently drop their change.
    entities = Entity.objects.select_for_update(of=("self",))
    entity = None
    if event.entity_id is not None:
        # A replay keeps the entity the event produced before, email or not.
        entity = entities.filter(pk=event.entity_id, canvas_id=config.canvas_id).first()
    if entity is None and mapped.email:
        # Advisory lock on (canvas, email), held to commit: two events about one new
        # person, processed at once by two workers, would otherwise both miss in the
        # lookup below and create the person twice.
        _advisory_lock(f"webhook-entity:{config.canvas_id}:{mapped.email}")
        entity = (
            entities.filter(canvas_id=config.canvas_id, email=mapped.email)
            .order_by("created_at")
            .first()
        )
    if entity is not None:
        entity.canvas = config.canvas  # same row (filtered on canvas_id), already read
        return _entity_merge(entity, mapped)
    return Entity.objects.create(
        canvas=config.canvas,
        name=mapped.name,
        email=mapped.email,
        entity_type=mapped.entity_type,
        avatar_url=mapped.avatar_url,
        metadata=mapped.metadata,
    )


def trigger(event: WebhookEvent) -> dict[str, Any]:
    """The trigger of the run an event starts (SPEC 7.5)."""
    config = event.webhook_config
    return {
        "type": "webhook",
        "source": config.source,
        "event_id": str(event.id),
        "provider_event_id": event.provider_event_id,
        "timestamp": event.received_at.isoformat(),
    }


def event_apply(*, event: WebhookEvent) -> tuple[Entity, Run]:
    """Map the event to its entity, start it on the entry edge and start its run (in the
    caller's transaction; webhooks.batch does the same set-based)."""
    config = event.webhook_config
    mapped = entity_map(config.entity_mapping or {}, event.payload)
    entity = _entity_find_or_create(event=event, mapped=mapped)
    movement = entity_journey_start_locked(
        entity=entity,
        edge_id=config.entry_edge_id,
        metadata={"webhook_event_id": str(event.id), "source": config.source},
    )
    run = run_start(
        flow=config.workflow, entity=movement.entity, trigger=trigger(event), input=event.payload
    )
    return movement.entity, run


def error_text(exc: Exception) -> str:
    """What an event's `error` says about why processing it failed."""
    if isinstance(exc, MappingError):
        return f"entity_mapping.{exc}"
    if isinstance(exc, FieldError):
        return f"{exc.field}: {exc.message}"
    if isinstance(exc, DatabaseError):
        return f"database refused the event's data: {first_line(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _finish(
    event: WebhookEvent,
    *,
    status: str,
    error: str | None = None,
    entity: Entity | None = None,
    run: Run | None = None,
) -> WebhookEvent:
    event.status, event.error, event.processed_at = status, error, timezone.now()
    event.entity, event.workflow_run = entity or event.entity, run or event.workflow_run
    event.save(update_fields=["status", "error", "entity", "workflow_run", "processed_at"])
    return event


def _attempt_count(event_id: Any) -> bool:
    """Count an attempt on an event waiting to be processed; False when there is none.

    Its own statement, committed before processing starts: the processing transaction
    rolls back on a crash or an outage, the count must not (SPEC 7.5: bounded attempts).
    A copy of the job waits here on the row lock of one processing it, then matches
    nothing.
    """
    claimable = Q(status=PENDING) | Q(status=PROCESSING, claimed_at__lt=_stale_before())
    counted = WebhookEvent.objects.filter(claimable, pk=event_id, accepted=True).update(
        attempts=F("attempts") + 1
    )
    return counted == 1


def gave_up_error(event: WebhookEvent) -> str:
    last = event.error or "none recorded (the process handling it stopped)"
    return f"gave up after {event.attempts - 1} attempts; last error: {last}"


def _note_attempt_error(event_ids: list[Any], exc: Exception) -> None:
    """Keep the reason of a failed attempt on the waiting events (best effort: the
    database may be what failed)."""
    try:
        WebhookEvent.objects.filter(pk__in=event_ids, status=PENDING).update(
            error=f"attempt failed: {type(exc).__name__}: {first_line(exc)}"
        )
    except DatabaseError:
        logger.warning("could not record the failed attempt of webhook events %s", event_ids)


def webhook_event_process(*, event_id: Any) -> WebhookEvent | None:
    """Turn a stored event into an entity on the entry edge and a run of the workflow,
    together with up to WEBHOOK_BATCH_SIZE - 1 other events waiting in the queue
    (webhooks.batch); returns the job's own event as finished, or None when it is not
    (or no longer) waiting to be processed.

    One transaction holds the claims, everything written (entities, journey events,
    runs and their dispatch jobs), the other events' jobs deleted, and the outcomes: a
    crash rolls all of it back and leaves the events pending with their jobs, so no
    half result and no duplicate can ever exist. A passing database error propagates
    (the queue retries); anything else, including data the database refuses, fails
    only the event at fault, with the reason. Past WEBHOOK_MAX_ATTEMPTS attempts an
    event fails too.
    """
    stale = _stale_before()
    picked = batch.attempts_count(leader=event_id, size=settings.WEBHOOK_BATCH_SIZE, stale=stale)
    if not picked:
        return None
    work = batch.Batch(events=[])
    try:
        with transaction.atomic():
            work.events = batch.claim(picked=picked, stale=stale)
            batch.apply(work)
            batch.finish(work)
    except Exception as exc:
        ids = [picked_id for picked_id, _job in picked]
        if is_transient(exc):
            _note_attempt_error(ids, exc)
            raise  # the events are pending again; the job's retry (or the sweep) comes back
        # Not an event's fault (those are isolated inside the batch): each event gets a
        # transaction of its own, so one cannot keep the others from completing.
        logger.exception("webhook batch of event %s failed; processing one by one", event_id)
        alone = [_process_alone(picked_id) for picked_id in ids]
        return next((e for e in alone if e is not None and str(e.pk) == str(event_id)), None)
    batch.observed(work)
    return next((e for e in work.events if str(e.pk) == str(event_id)), None)


def _process_alone(event_id: Any) -> WebhookEvent | None:
    """The per-event path, for an event whose attempt is already counted."""
    try:
        with transaction.atomic():
            # The claim's UPDATE also row-locks the event until commit: a copy of this job
            # (queue retry, sweep, replay) waits on it, then finds nothing to claim.
            if not _claim(event_id):
                return None
            event = WebhookEvent.objects.select_related(
                "webhook_config__workflow", "webhook_config__canvas"
            ).get(pk=event_id)
            if event.attempts > settings.WEBHOOK_MAX_ATTEMPTS:
                finished = _finish(event, status=FAILED, error=gave_up_error(event))
            else:
                entity, run = event_apply(event=event)
                finished = _finish(event, status=COMPLETED, entity=entity, run=run)
    except Exception as exc:
        if is_transient(exc):
            _note_attempt_error([event_id], exc)
            raise  # the event is pending again; the job's retry (or the sweep) comes back
        if not isinstance(exc, MappingError | FieldError | DatabaseError):
            logger.exception("webhook event %s failed", event_id)
        return _fail(event_id, error_text(exc))
    if finished.status == COMPLETED:
        observe.webhook_processed(finished)
    else:
        observe.webhook_failed(finished)
    return finished


def _fail(event_id: Any, error: str) -> WebhookEvent | None:
    """Record a failure; what the attempt wrote was rolled back with it."""
    with transaction.atomic():
        if not _claim(event_id):  # taken over meanwhile (a replay): theirs to record
            return None
        event = WebhookEvent.objects.select_related("webhook_config").get(pk=event_id)
        failed = _finish(event, status=FAILED, error=error)
    observe.webhook_failed(failed)
    return failed


# --- replay and recovery ----------------------------------------------------------------


@transaction.atomic
def webhook_event_replay(*, event_id: UUID) -> WebhookEvent:
    """Process a stored event again. A completed event is reprocessed in full: the same
    entity (metadata merged again) starts its journey on the entry edge once more and a
    new run starts; the event then points at the new run (the old one keeps the event id
    in its trigger)."""
    # Row lock: a job processing this event right now finishes (and commits) first, so
    # the replay never interleaves with it.
    event = WebhookEvent.objects.select_for_update(of=("self",)).get(pk=event_id)
    if not event.accepted:
        raise FieldError(
            "event", "this delivery was refused (invalid signature) and cannot be replayed"
        )
    event.status, event.error, event.processed_at, event.claimed_at = PENDING, None, None, None
    event.attempts = 0
    event.save(update_fields=["status", "error", "processed_at", "claimed_at", "attempts"])
    defer_on_django(tasks.process_event, {"event_id": str(event.id)})
    return event


def _live_job_for_event() -> Exists:
    """A queued or running processing job for the outer event (OuterRef("pk"))."""
    jobs = ProcrastinateJob.objects.annotate(event_id=KT("args__event_id")).filter(
        task_name=tasks.PROCESS_TASK,
        status__in=["todo", "doing"],
        event_id=Cast(OuterRef("pk"), output_field=TextField()),
    )
    return Exists(jobs)


@transaction.atomic
def webhook_events_recover(*, limit: int = 500) -> list[UUID]:
    """Defer a new job for each event stuck in pending/processing past the recovery delay
    whose job is gone or failed (a job still queued or running is left to the queue and
    its stalled-job recovery). Processing is idempotent, so a spare job is harmless.

    Events that still have a live job are filtered out before the limit is applied:
    otherwise `limit` old events waiting on their retries would fill every sweep and
    keep every other stuck event from coming back.
    """
    stale = _stale_before()
    orphans = list(
        WebhookEvent.objects.filter(accepted=True)
        .filter(
            Q(status=PENDING, received_at__lt=stale) | Q(status=PROCESSING, claimed_at__lt=stale)
        )
        .filter(~_live_job_for_event())
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
    if orphans:
        defer_on_django(tasks.process_event, *({"event_id": str(i)} for i in orphans))
        logger.warning("re-queued %d stuck webhook events", len(orphans))
    return orphans


# --- bulk replay (SPEC 7.6, 13) ---------------------------------------------------------


def webhook_events_replay(*, actor: User, events: QuerySet[WebhookEvent], request_key: str) -> int:
    """Replay every accepted event of `events` through `webhook_event_replay`, at most
    once per (actor, request_key) within BULK_IDEMPOTENCY_SECONDS (`stitch.recovery`).
    Returns how many were replayed now. Works in chunks, one transaction each: a
    failure keeps what earlier chunks did, and a repeat of the call finishes the rest."""
    recovery.marks_prune()
    matching = events.filter(accepted=True)
    ids = list(matching.order_by("pk").values_list("pk", flat=True))
    replayed = 0
    for chunk in recovery.chunks(ids):
        with transaction.atomic():
            # Row locks in id order, with the filter applied again: an event that stopped
            # matching since it was listed (a pending one processed meanwhile) is left
            # alone, so a call replays exactly what its filter names.
            still = list(
                matching.filter(pk__in=chunk)
                .select_for_update(of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            fresh = recovery.marks_claim(
                kind=recovery.REPLAY, actor=actor, key=request_key, target_ids=still
            )
            for event_id in still:
                if event_id in fresh:
                    webhook_event_replay(event_id=event_id)
                    replayed += 1
    return replayed

"""Batch processing of webhook events (issue 11, SPEC 7.5).

A processing job takes its own event and up to WEBHOOK_BATCH_SIZE - 1 other events
whose jobs wait in the queue, and processes them in one transaction:

1. `EVENTS_ATTEMPT` counts an attempt on each, committed on its own (bounded attempts
   survive a crash);
2. one transaction claims them (pending -> processing), deletes the other events' jobs,
   and applies every event set-based: one statement finds or creates the entities, one
   moves them onto the entry edge, one inserts the journey events, `flows.bulk` starts
   the runs (one INSERT per table, one batch defer of their dispatch jobs), and one
   statement records every outcome.

Failure isolation: an event that cannot be processed for a reason found in Python (its
mapping, attempts exhausted, a config that cannot run) fails alone before anything is
written. When a set-based statement fails (data the database refuses), the batch's
writes roll back to a savepoint and each event is processed again on its own, under a
savepoint of its own, by the per-event path (`services.event_apply`): a bad event
fails with its reason, the others complete. A passing database error (outage,
deadlock) rolls the whole batch back; the events are pending again with their jobs.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from entities.models import Entity, JourneyEvent, JourneyEventType
from entities.services import (
    Position,
    canvas_graph_ids,
    entity_announce,
    journey_append,
    position_apply,
)
from flows import bulk
from flows.engine.services import runnable
from flows.models import Run
from stitch import observe
from stitch.dberrors import is_transient
from stitch.errors import FieldError
from webhooks import sql, tasks
from webhooks.mapping import MappedEntity, MappingError, entity_map
from webhooks.models import WebhookConfig, WebhookEvent, WebhookEventStatus

logger = logging.getLogger(__name__)

COMPLETED = WebhookEventStatus.COMPLETED
FAILED = WebhookEventStatus.FAILED


@dataclass
class Outcome:
    status: str
    error: str | None = None
    entity: Entity | None = None
    run: Run | None = None


@dataclass
class _Fast:
    """An event on the set-based path, filled in as the statements return."""

    event: WebhookEvent
    mapped: MappedEntity
    entity: Entity | None = None
    movement: JourneyEvent | None = None
    run: Run | None = None


@dataclass
class Batch:
    events: list[WebhookEvent]
    outcomes: dict[UUID, Outcome] = field(default_factory=dict)


def _json(rows: Any) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=str)


def _execute(statement: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


# --- picking and claiming --------------------------------------------------------------


def attempts_count(*, leader: Any, size: int, stale: Any) -> list[tuple[UUID, int | None]]:
    """Count an attempt on the leader and on up to size - 1 queued events (committed
    now); [(event id, its job id or None for the leader)]. Empty when the leader is not
    waiting to be processed: then nothing else is picked either."""
    params = {
        "leader": leader,
        "stale": stale,
        "queue": tasks.QUEUE,
        "task": tasks.PROCESS_TASK,
        "more": max(size - 1, 0),
        # Jobs looked at to find `more` free events: others may be held by other batches.
        "scan": max(size - 1, 0) * 4,
    }
    with transaction.atomic():
        rows = _execute(sql.EVENTS_ATTEMPT, params)
    return [(row[0], row[1]) for row in rows]


def claim(*, picked: Sequence[tuple[UUID, int | None]], stale: Any) -> list[WebhookEvent]:
    """Inside the batch transaction: claim the picked events still waiting, drop the
    jobs of those claimed, and read them with their configs."""
    rows = _execute(sql.EVENTS_CLAIM, {"ids": [event_id for event_id, _ in picked], "stale": stale})
    claimed = {row[0] for row in rows}
    jobs = [job for event_id, job in picked if job is not None and event_id in claimed]
    if jobs:
        _execute(sql.JOBS_DELETE, {"ids": jobs})
    events = list(WebhookEvent.objects.filter(pk__in=claimed).order_by("received_at"))
    # Each config (with its canvas and workflow graphs) read once, not once per event.
    configs = WebhookConfig.objects.select_related("workflow", "canvas").in_bulk(
        {event.webhook_config_id for event in events}
    )
    for event in events:
        event.webhook_config = configs[event.webhook_config_id]
    return events


# --- applying --------------------------------------------------------------------------


def apply(batch: Batch) -> None:
    """Process the claimed events of `batch` (see the module docstring)."""
    fast: list[_Fast] = []
    slow: list[WebhookEvent] = []
    for event in batch.events:
        failure = _precheck(event)
        if failure is not None:
            batch.outcomes[event.pk] = failure
        elif event.entity_id is not None:
            slow.append(event)  # a replay keeps its entity: the per-event path
        else:
            try:
                mapped = entity_map(event.webhook_config.entity_mapping or {}, event.payload)
            except MappingError as exc:
                batch.outcomes[event.pk] = Outcome(FAILED, f"entity_mapping.{exc}")
                continue
            fast.append(_Fast(event, mapped))
    if fast:
        try:
            with transaction.atomic():  # savepoint: a refusal undoes only this part
                _apply_fast(fast, batch)
        except Exception as exc:
            if is_transient(exc):
                raise
            if not isinstance(exc, DatabaseError):
                logger.exception("webhook batch failed; processing its events one by one")
            logger.warning(
                "webhook batch refused (%s); processing its %d events one by one",
                exc,
                len(fast),
            )
            for item in fast:
                batch.outcomes.pop(item.event.pk, None)
            slow.extend(item.event for item in fast)
    for event in slow:
        batch.outcomes[event.pk] = _apply_one(event)


def _precheck(event: WebhookEvent) -> Outcome | None:
    from webhooks.services import gave_up_error

    if event.attempts > settings.WEBHOOK_MAX_ATTEMPTS:
        return Outcome(FAILED, gave_up_error(event))
    return None


def _apply_one(event: WebhookEvent) -> Outcome:
    """The per-event path, under a savepoint of its own."""
    from webhooks.services import error_text, event_apply

    try:
        with transaction.atomic():
            entity, run = event_apply(event=event)
    except Exception as exc:
        if is_transient(exc):
            raise
        if not isinstance(exc, MappingError | FieldError | DatabaseError):
            logger.exception("webhook event %s failed", event.pk)
        return Outcome(FAILED, error_text(exc))
    return Outcome(COMPLETED, entity=entity, run=run)


def _config_problem(config: WebhookConfig) -> str | None:
    """Why no event of this config can start (checked once per config and batch); the
    per-event path then fails each event with the engine's own message."""
    _, edges = canvas_graph_ids(config.canvas)
    if config.entry_edge_id not in edges:
        return "entry edge"
    try:
        runnable(config.workflow)
    except FieldError:
        return "workflow"
    return None


def _apply_fast(items: list[_Fast], batch: Batch) -> None:
    by_config: dict[Any, list[_Fast]] = defaultdict(list)
    for item in items:
        by_config[item.event.webhook_config_id].append(item)
    ready: list[_Fast] = []
    for group in by_config.values():
        if _config_problem(group[0].event.webhook_config) is not None:
            # Raised as a refusal: the caller hands these events to the per-event path.
            for item in group:
                batch.outcomes[item.event.pk] = _apply_one(item.event)
            continue
        ready.extend(group)
    for round_items in _rounds(ready):
        _entities_upsert(round_items)
        _journeys_start(round_items)
    _runs_start(ready)
    for item in ready:
        batch.outcomes[item.event.pk] = Outcome(COMPLETED, entity=item.entity, run=item.run)


def _rounds(items: list[_Fast]) -> Iterable[list[_Fast]]:
    """Items split so that each (canvas, email) occurs once per round, in event order."""
    pending = items
    while pending:
        seen: set[tuple[Any, str]] = set()
        this, later = [], []
        for item in pending:
            key = (item.event.webhook_config.canvas_id, item.mapped.email or "")
            if item.mapped.email and key in seen:
                later.append(item)
            else:
                seen.add(key)
                this.append(item)
        yield this
        pending = later


def _entities_upsert(items: list[_Fast]) -> None:
    rows, ids = [], [uuid4() for _ in items]
    for n, item in enumerate(items):
        mapped = item.mapped
        rows.append(
            {
                "n": n,
                "id": str(ids[n]),
                "canvas": str(item.event.webhook_config.canvas_id),
                "name": mapped.name,
                "email": mapped.email,
                "avatar_url": mapped.avatar_url,
                "entity_type": mapped.entity_type,
                "metadata": mapped.metadata,
            }
        )
    returned = list(Entity.objects.raw(sql.ENTITIES_UPSERT, {"rows": _json(rows)}))
    by_email = {(e.canvas_id, e.email): e for e in returned if e.email}
    by_id = {e.pk: e for e in returned}
    for item, new_id in zip(items, ids, strict=True):
        if item.mapped.email:
            entity = by_email[(item.event.webhook_config.canvas_id, item.mapped.email)]
        else:
            entity = by_id[new_id]
        entity.canvas = item.event.webhook_config.canvas  # same row, already read
        item.entity = entity


def _journeys_start(items: list[_Fast]) -> None:
    """`entity_journey_start_locked` for each item's entity: the same fields, the same
    journey event and announcement, written with one statement per table."""
    now = timezone.now()
    events, moves = [], []
    for item in items:
        entity = item.entity
        assert entity is not None
        config = item.event.webhook_config
        position = Position(edge_id=config.entry_edge_id, progress=Decimal("0.00"))
        previous_node_id, seconds = position_apply(entity, position, now)
        journey = JourneyEvent(
            entity=entity,
            canvas_id=entity.canvas_id,
            event_type=JourneyEventType.EDGE_START,
            node_id=position.node_id,
            edge_id=position.edge_id,
            progress=position.progress,
            metadata={"webhook_event_id": str(item.event.pk), "source": config.source},
            timestamp=now,
            previous_node_id=previous_node_id,
            seconds_in_previous_node=seconds,
        )
        journey_append(entity, journey)
        entity.updated_at = now
        events.append(journey)
        moves.append(
            {
                "id": str(entity.pk),
                "current_node_id": entity.current_node_id,
                "current_edge_id": entity.current_edge_id,
                "edge_progress": str(entity.edge_progress),
                "node_entered_at": entity.node_entered_at,
                "sequence": entity.sequence,
                "journey": entity.journey,
                "entity_type": entity.entity_type,
            }
        )
        item.movement = journey
    bulk.rows_insert(JourneyEvent, events)
    ids = [item.entity.pk for item in items if item.entity is not None]
    _execute(sql.ENTITIES_MOVE, {"rows": _json(moves), "ids": ids})
    for item in items:
        assert item.entity is not None
        entity_announce(entity=item.entity, event=item.movement)


def _runs_start(items: list[_Fast]) -> None:
    from webhooks.services import trigger

    by_workflow: dict[Any, list[_Fast]] = defaultdict(list)
    for item in items:
        by_workflow[item.event.webhook_config.workflow_id].append(item)
    for group in by_workflow.values():
        starts = [
            bulk.RunStart(entity=item.entity, trigger=trigger(item.event), input=item.event.payload)
            for item in group
        ]
        runs = bulk.runs_start(flow=group[0].event.webhook_config.workflow, starts=starts)
        for item, run in zip(group, runs, strict=True):
            item.run = run


# --- finishing -------------------------------------------------------------------------


def finish(batch: Batch) -> None:
    """Record every outcome (one statement), on the rows and on the events in hand."""
    now = timezone.now()
    for event in batch.events:
        outcome = batch.outcomes.get(event.pk)
        if outcome is not None:
            event.status, event.error, event.processed_at = outcome.status, outcome.error, now
            event.entity = outcome.entity or event.entity
            event.workflow_run = outcome.run or event.workflow_run
    rows = [
        {
            "id": str(event_id),
            "status": outcome.status,
            "error": outcome.error,
            "entity": str(outcome.entity.pk) if outcome.entity else None,
            "run": str(outcome.run.pk) if outcome.run else None,
        }
        for event_id, outcome in batch.outcomes.items()
    ]
    if rows:
        _execute(sql.EVENTS_FINISH, {"rows": _json(rows), "ids": list(batch.outcomes)})


def observed(batch: Batch) -> None:
    """Metrics and failure logs, after commit."""
    for event in batch.events:
        outcome = batch.outcomes.get(event.pk)
        if outcome is None:
            continue
        if outcome.status == COMPLETED:
            observe.webhook_processed(event)
        else:
            observe.webhook_failed(event)

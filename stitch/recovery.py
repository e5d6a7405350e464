"""Idempotency of bulk recovery (SPEC 13): replaying events / retrying runs in bulk.

A bulk call is identified by its actor and a key: the sha256 of its normalised filter
(API) or of the ids chosen (admin). Each target it acts on gets a mark (kind, actor,
key, target) in the same transaction as the replay or retry itself; an identical call
within BULK_IDEMPOTENCY_SECONDS acts only on targets without a mark, i.e. targets that
match now and did not match then. "Nothing new" is exactly that: no event processed
again, no node re-fired, for anything the first call already covered, whatever became
of it since (done, failed again, still in flight).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.db.models import Model, QuerySet
from django.utils import timezone

from stitch import ops_sql
from stitch.models import RecoveryMark

T = TypeVar("T")
M = TypeVar("M", bound=Model)
REPLAY = "webhook_replay"
RETRY = "run_retry"


def request_key(filters: dict[str, Any]) -> str:
    """A stable key for a filter: keys sorted, values as strings (datetimes in ISO form)."""
    canonical = json.dumps({k: str(v) for k, v in filters.items()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def ids_key(ids: Iterable[Any]) -> str:
    return request_key({"ids": ",".join(sorted(str(i) for i in ids))})


def marks_claim(*, kind: str, actor: Any, key: str, target_ids: Sequence[UUID]) -> set[UUID]:
    """Mark the targets for this call; return those not marked before (act on these).
    Call it in the transaction that acts on them, so a mark exists exactly when the
    action committed."""
    return ops_sql.recovery_marks_insert(
        kind=kind, actor_id=actor.pk, request_key=key, target_ids=target_ids
    )


def unmarked(queryset: QuerySet[M], *, kind: str, actor: Any, key: str) -> QuerySet[M]:
    """The rows of `queryset` this call has not acted on yet (for a count shown first)."""
    since = timezone.now() - timedelta(seconds=settings.BULK_IDEMPOTENCY_SECONDS)
    marks = RecoveryMark.objects.filter(
        kind=kind, actor=actor, request_key=key, created_at__gte=since
    )
    return queryset.exclude(pk__in=marks.values("target_id"))


def marks_prune() -> None:
    ops_sql.recovery_marks_prune(older_than_seconds=settings.BULK_IDEMPOTENCY_SECONDS)


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

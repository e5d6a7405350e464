from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from entities.fields import EmailAddressField
from stitch.models import TimestampedModel


class Entity(TimestampedModel):
    """A customer or lead standing on a node or travelling along an edge of a canvas."""

    canvas = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="entities")
    name = models.TextField()
    email = EmailAddressField(null=True, blank=True)
    avatar_url = models.TextField(null=True, blank=True)
    entity_type = models.TextField()
    current_node_id = models.TextField(null=True, blank=True)
    current_edge_id = models.TextField(null=True, blank=True)
    edge_progress = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    journey = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # When the entity arrived at `current_node_id`; the move that leaves the node
    # records the time spent there on its journey event (median time in node).
    node_entered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped by every move and edit under the row lock: websocket consumers drop a
    # message older than one they already delivered, so clients see changes in commit
    # order.
    sequence = models.PositiveBigIntegerField(default=0, db_default=0, editable=False)

    class Meta:
        db_table = "stitch_entities"
        ordering = ["-created_at"]
        verbose_name_plural = "entities"
        indexes = [
            models.Index(fields=["canvas"], name="idx_stitch_entities_canvas_id"),
            models.Index(fields=["current_node_id"], name="idx_stitch_entities_current_node_id"),
            models.Index(fields=["current_edge_id"], name="idx_stitch_entities_current_edge_id"),
            models.Index(fields=["entity_type"], name="idx_stitch_entities_entity_type"),
            # Operators filter entities by metadata keys (`metadata__plan=pro`).
            GinIndex(fields=["metadata"], name="idx_stitch_entities_metadata"),
            # Analytics "now here / travelling now" counts: index-only scan per canvas.
            models.Index(
                fields=["canvas", "current_node_id", "current_edge_id"],
                name="idx_entities_canvas_position",
            ),
        ]
        constraints = [
            # One person per address on a canvas. Addresses are stored normalised
            # (entities.services.email_normalise: lower case), so this is the
            # case-insensitive rule of SPEC 6, and its index serves the webhook lookup
            # by (canvas, email) and the `email` filter.
            models.UniqueConstraint(
                fields=["canvas", "email"], name="uniq_stitch_entities_canvas_email"
            ),
            models.CheckConstraint(
                condition=models.Q(edge_progress__isnull=True)
                | models.Q(edge_progress__gte=0, edge_progress__lte=1),
                name="check_edge_progress_range",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        current_node_id__isnull=False,
                        current_edge_id__isnull=True,
                        edge_progress__isnull=True,
                    )
                    | models.Q(
                        current_node_id__isnull=True,
                        current_edge_id__isnull=False,
                        edge_progress__isnull=False,
                    )
                    | models.Q(
                        current_node_id__isnull=True,
                        current_edge_id__isnull=True,
                        edge_progress__isnull=True,
                    )
                ),
                name="check_position_exclusivity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.entity_type})"


class JourneyEventType(models.TextChoices):
    EDGE_START = "edge_start"
    EDGE_PROGRESS = "edge_progress"
    NODE_ARRIVAL = "node_arrival"
    NODE_COMPLETE = "node_complete"
    MANUAL_MOVE = "manual_move"


class JourneyEvent(models.Model):
    """Append-only history of entity movements."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="events")
    # Denormalised from the entity so canvas analytics need no join (see entities.analytics).
    canvas = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="+")
    event_type = models.TextField(choices=JourneyEventType.choices)
    node_id = models.TextField(null=True, blank=True)
    edge_id = models.TextField(null=True, blank=True)
    progress = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField(default=timezone.now, db_default=Now())
    # Set on the event that takes an entity off a node: which node and how long it
    # stood there. Median time in node then reads these rows instead of windowing
    # over each entity's whole history (see limits.md: 1.4 s floor for the window).
    previous_node_id = models.TextField(null=True, blank=True)
    seconds_in_previous_node = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "stitch_journey_events"
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["entity"], name="idx_journey_events_entity_id"),
            models.Index(fields=["timestamp"], name="idx_journey_events_timestamp"),
            models.Index(fields=["event_type"], name="idx_journey_events_event_type"),
            models.Index(fields=["edge_id"], name="idx_journey_events_edge_id"),
            # Analytics funnel (starts, arrivals, completions per edge/node of one
            # canvas in a time window): every column the query reads is in the index,
            # so PostgreSQL answers with an index-only scan and no join to entities.
            # event_type second lets the scan skip the bulky edge_progress rows.
            models.Index(
                fields=["canvas", "event_type", "edge_id", "node_id"],
                include=["timestamp"],
                name="idx_journey_events_funnel",
            ),
            # Median time in node: only the rows that left a node (partial index),
            # already grouped by node, durations and timestamps in the leaf pages.
            models.Index(
                fields=["canvas", "previous_node_id", "seconds_in_previous_node"],
                include=["timestamp"],
                condition=models.Q(previous_node_id__isnull=False),
                name="idx_journey_events_node_time",
            ),
            # Funnel and arrivals-over-time (entities.analytics): only arrivals, by node
            # then time, with the entity in the leaf pages, so a funnel reads just its
            # steps' arrivals and a series one index range, both index-only.
            models.Index(
                fields=["canvas", "node_id", "timestamp"],
                include=["entity"],
                condition=models.Q(event_type__in=["node_arrival", "manual_move"]),
                name="idx_journey_events_arrivals",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.node_id or self.edge_id}"

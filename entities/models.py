from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from stitch.models import TimestampedModel


class Entity(TimestampedModel):
    """A customer or lead standing on a node or travelling along an edge of a canvas."""

    canvas = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="entities")
    name = models.TextField()
    email = models.TextField(null=True, blank=True)
    avatar_url = models.TextField(null=True, blank=True)
    entity_type = models.TextField()
    current_node_id = models.TextField(null=True, blank=True)
    current_edge_id = models.TextField(null=True, blank=True)
    edge_progress = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    journey = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "stitch_entities"
        ordering = ["-created_at"]
        verbose_name_plural = "entities"
        indexes = [
            models.Index(fields=["canvas"], name="idx_stitch_entities_canvas_id"),
            models.Index(fields=["current_node_id"], name="idx_stitch_entities_current_node_id"),
            models.Index(fields=["current_edge_id"], name="idx_stitch_entities_current_edge_id"),
            models.Index(fields=["entity_type"], name="idx_stitch_entities_entity_type"),
            # Webhook intake finds an existing entity by (canvas, email).
            models.Index(fields=["canvas", "email"], name="idx_stitch_entities_canvas_email"),
            # Operators filter entities by metadata keys (`metadata__plan=pro`).
            GinIndex(fields=["metadata"], name="idx_stitch_entities_metadata"),
        ]
        constraints = [
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

    class Meta:
        db_table = "stitch_journey_events"
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["entity"], name="idx_journey_events_entity_id"),
            models.Index(fields=["timestamp"], name="idx_journey_events_timestamp"),
            models.Index(fields=["event_type"], name="idx_journey_events_event_type"),
            models.Index(fields=["edge_id"], name="idx_journey_events_edge_id"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.node_id or self.edge_id}"

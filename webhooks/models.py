from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone

from stitch.models import TimestampedModel
from webhooks.slugs import endpoint_slug_generate


class WebhookSource(models.TextChoices):
    STRIPE = "stripe"
    STANDARD = "standard"
    TYPEFORM = "typeform"
    CALENDLY = "calendly"
    GENERIC = "generic"


class WebhookConfig(TimestampedModel):
    """An inbound endpoint: where events come in and what they turn into."""

    canvas = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="+")
    name = models.TextField()
    # Free text as in the seed; unknown sources are verified with the generic scheme.
    source = models.TextField()
    # Unguessable unless an operator sets one in the admin (webhooks/slugs.py).
    endpoint_slug = models.TextField(unique=True, default=endpoint_slug_generate)
    secret = models.TextField(null=True, blank=True)
    require_signature = models.BooleanField(default=True, db_default=True)
    workflow = models.ForeignKey(
        "flows.Flow", on_delete=models.CASCADE, related_name="webhook_configs"
    )
    entry_edge_id = models.TextField()
    entity_mapping = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "stitch_webhook_configs"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["endpoint_slug"], name="idx_webhook_configs_endpoint_slug"),
            models.Index(fields=["canvas"], name="idx_webhook_configs_canvas_id"),
            models.Index(fields=["workflow"], name="idx_webhook_configs_workflow_id"),
            models.Index(fields=["is_active"], name="idx_webhook_configs_is_active"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.source})"

    @property
    def endpoint_url(self) -> str:
        """The full URL providers post to (API response and admin page alike)."""
        path = reverse("webhook-intake", kwargs={"endpoint_slug": self.endpoint_slug})
        return f"{settings.PUBLIC_BASE_URL}{path}"


class WebhookEventStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class WebhookEvent(models.Model):
    """Every delivery attempt, accepted or refused, with its raw payload."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook_config = models.ForeignKey(
        WebhookConfig, on_delete=models.CASCADE, related_name="events"
    )
    received_at = models.DateTimeField(default=timezone.now, db_default=Now())
    payload = models.JSONField()
    # Null for refused attempts: a forged copy must never claim the real event id.
    provider_event_id = models.TextField(null=True, blank=True)
    entity = models.ForeignKey(
        "entities.Entity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    workflow_run = models.ForeignKey(
        "flows.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.TextField(
        choices=WebhookEventStatus.choices,
        default=WebhookEventStatus.PENDING,
        db_default=WebhookEventStatus.PENDING,
    )
    error = models.TextField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # False for deliveries refused at the door (bad or missing signature): they are kept
    # for the audit trail but never processed or replayed.
    accepted = models.BooleanField(default=True, db_default=True)
    # When a job last claimed the event (pending -> processing). A claim older than
    # WEBHOOK_RECOVERY_AFTER_SECONDS belongs to a crashed worker and may be taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Processing attempts since receipt (or the last replay), counted before each attempt
    # in a statement of its own so a crash or a rollback cannot undo it: past
    # WEBHOOK_MAX_ATTEMPTS the event is failed instead of tried forever.
    attempts = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "stitch_webhook_events"
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["webhook_config"], name="idx_webhook_events_config_id"),
            models.Index(fields=["-received_at"], name="idx_webhook_events_received_at"),
            models.Index(fields=["status"], name="idx_webhook_events_status"),
            models.Index(fields=["entity"], name="idx_webhook_events_entity_id"),
            models.Index(fields=["workflow_run"], name="idx_webhook_events_workflow_run_id"),
        ]
        constraints = [
            # Idempotency: two copies of one delivery cannot both be stored, even
            # when they arrive at the same instant (the loser gets IntegrityError).
            models.UniqueConstraint(
                fields=["webhook_config", "provider_event_id"],
                condition=models.Q(provider_event_id__isnull=False),
                name="uniq_webhook_event_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider_event_id or self.id} ({self.status})"

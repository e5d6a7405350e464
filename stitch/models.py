from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class User(AbstractUser):
    """Operator account. UUID ids, as the seed's `user_id UUID` columns expect."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        db_table = "stitch_users"


class TimestampedModel(models.Model):
    """UUID primary key plus created/updated stamps with database defaults (as the seed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        abstract = True


class RecoveryMark(models.Model):
    """A bulk replay or retry already applied to one event or run (SPEC 13), kept for
    BULK_IDEMPOTENCY_SECONDS: an identical bulk call (same actor, same filter) skips
    the targets it has marked. See `stitch.recovery`."""

    id = models.BigAutoField(primary_key=True)
    kind = models.TextField()  # "webhook_replay" | "run_retry"
    actor = models.ForeignKey("stitch.User", on_delete=models.CASCADE, related_name="+")
    # sha256 of the call's normalised filter (or, from the admin, of the chosen ids).
    request_key = models.TextField()
    target_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "stitch_recovery_marks"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "actor", "request_key", "target_id"], name="uniq_recovery_mark"
            ),
        ]
        # Expired marks are deleted by age at each bulk call.
        indexes = [models.Index(fields=["created_at"], name="idx_recovery_marks_created_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.target_id}"

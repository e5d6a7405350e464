"""Background jobs of the media library (procrastinate, autodiscovered by name)."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from media.services import media_thumbnail_make


# Retries cover storage hiccups (S3 timeouts); an undecodable image is not retried
# (the service logs it and returns).
# Own queue: a worker started without --queues serves it; tests run just this one.
@app.task(
    name="media.thumbnail",
    queue="media",
    retry=RetryStrategy(max_attempts=4, exponential_wait=2),
)
def media_thumbnail(media_id: str) -> None:
    media_thumbnail_make(media_id=media_id)


@app.periodic(cron="17 * * * *", periodic_id="media-sweep-orphans")
@app.task(name="media.sweep_orphans", queue="media", queueing_lock="media.sweep_orphans")
def media_sweep_orphans(timestamp: int) -> None:
    """Hourly: remove stored files that no row names (media.sweep)."""
    from media.sweep import media_orphans_sweep

    media_orphans_sweep()

from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"
    verbose_name = "Media library"

    def ready(self) -> None:
        # Registers the built-in `media` worker with flows.workers.
        from media import workers  # noqa: F401

from django.apps import AppConfig


class StitchConfig(AppConfig):
    name = "stitch"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from stitch import logfilters

        logfilters.install()
        # Sets the multiprocess metrics directory before anything imports
        # prometheus_client (which picks its mode on first import).
        from stitch import metrics  # noqa: F401

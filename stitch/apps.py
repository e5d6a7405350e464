from django.apps import AppConfig


class StitchConfig(AppConfig):
    name = "stitch"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from stitch import logfilters

        logfilters.install()

from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "flows"
    verbose_name = "Flows and runs"

    def ready(self) -> None:
        # Fill the built-in worker registry before any graph is validated.
        from flows import builtin_workers  # noqa: F401

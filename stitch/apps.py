from django.apps import AppConfig


class StitchConfig(AppConfig):
    name = "stitch"
    verbose_name = "Accounts"

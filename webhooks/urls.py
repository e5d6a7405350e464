from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from webhooks.intake import webhook_intake
from webhooks.replay_api import WebhookEventsReplayView
from webhooks.views import WebhookConfigViewSet, WebhookEventViewSet

router = SimpleRouter()
router.register("webhook-configs", WebhookConfigViewSet, basename="webhook-config")
router.register("webhook-events", WebhookEventViewSet, basename="webhook-event")

urlpatterns = [
    # Only slug characters reach the view (others, NUL included, are a plain 404).
    re_path(
        r"^webhooks/(?P<endpoint_slug>[A-Za-z0-9_-]{1,100})/$",
        webhook_intake,
        name="webhook-intake",
    ),
    # Before the router: "replay" would otherwise be read as an event id.
    path("webhook-events/replay/", WebhookEventsReplayView.as_view(), name="webhook-events-replay"),
    *router.urls,
]

from django.urls import path
from rest_framework.routers import SimpleRouter

from webhooks.intake import webhook_intake
from webhooks.views import WebhookConfigViewSet, WebhookEventViewSet

router = SimpleRouter()
router.register("webhook-configs", WebhookConfigViewSet, basename="webhook-config")
router.register("webhook-events", WebhookEventViewSet, basename="webhook-event")

urlpatterns = [
    path("webhooks/<str:endpoint_slug>/", webhook_intake, name="webhook-intake"),
    *router.urls,
]

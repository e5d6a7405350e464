from django.urls import path
from rest_framework.routers import SimpleRouter

from entities.analytics_api import FlowAnalyticsView, FlowFunnelView, FlowSeriesView
from entities.movement_api import EntityMoveView
from entities.views import EntityViewSet, JourneyEventViewSet

router = SimpleRouter()
router.register("entities", EntityViewSet, basename="entity")
router.register("journey-events", JourneyEventViewSet, basename="journey-event")

urlpatterns = [
    # Before the router: `entities/<pk>/move/` is not one of the viewset's routes.
    path("entities/<uuid:pk>/move/", EntityMoveView.as_view(), name="entity-move"),
    path("flows/<uuid:pk>/analytics/", FlowAnalyticsView.as_view(), name="flow-analytics"),
    path("flows/<uuid:pk>/analytics/funnel/", FlowFunnelView.as_view(), name="flow-funnel"),
    path("flows/<uuid:pk>/analytics/series/", FlowSeriesView.as_view(), name="flow-series"),
    *router.urls,
]

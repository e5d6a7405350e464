from django.urls import path
from rest_framework.routers import SimpleRouter

from flows.retry_api import RunsRetryFailedView
from flows.runs_api import CallbackView, FlowRunsView, RunViewSet
from flows.views import FlowVersionViewSet, FlowViewSet

router = SimpleRouter()
router.register("flows", FlowViewSet, basename="flow")
router.register(
    r"flows/(?P<flow_id>[0-9a-fA-F-]{36})/versions", FlowVersionViewSet, basename="flow-version"
)
router.register("runs", RunViewSet, basename="run")

urlpatterns = [
    path("flows/<uuid:flow_id>/runs/", FlowRunsView.as_view(), name="flow-runs"),
    path(
        # `path`: node ids may contain "/" (the client's own ids, e.g. "intake/review").
        "runs/<uuid:run_id>/nodes/<path:node_id>/callback/",
        CallbackView.as_view(),
        name="run-node-callback",
    ),
    # Before the router: "retry-failed" would otherwise be read as a run id.
    path("runs/retry-failed/", RunsRetryFailedView.as_view(), name="runs-retry-failed"),
    *router.urls,
]

from rest_framework.routers import SimpleRouter

from flows.views import FlowViewSet, RunViewSet

router = SimpleRouter()
router.register("flows", FlowViewSet, basename="flow")
router.register("runs", RunViewSet, basename="run")

urlpatterns = router.urls

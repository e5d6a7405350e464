from rest_framework.routers import SimpleRouter

from entities.views import EntityViewSet, JourneyEventViewSet

router = SimpleRouter()
router.register("entities", EntityViewSet, basename="entity")
router.register("journey-events", JourneyEventViewSet, basename="journey-event")

urlpatterns = router.urls

from rest_framework.routers import SimpleRouter

from media.views import MediaViewSet

router = SimpleRouter()
router.register("media", MediaViewSet, basename="media")

urlpatterns = router.urls

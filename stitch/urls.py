from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from entities.pages import flow_live
from flows.page_urls import owner_patterns
from flows.pages import flow_edit
from stitch.accounts import TokenObtainView, TokenRevokeView
from stitch.api import api_not_found
from stitch.health import healthz, readyz
from stitch.metrics_view import metrics_view

api_patterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("auth/token/revoke/", TokenRevokeView.as_view(), name="api-token-revoke"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("flows.urls")),
    path("", include("entities.urls")),
    path("", include("webhooks.urls")),
    path("", include("media.urls")),
    # Keep last: anything unmatched under /api/ is a JSON 404.
    re_path(r"^(?P<unmatched>.*)$", api_not_found, name="api-not-found"),
]

handler500 = "stitch.api.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("flows/<uuid:pk>/live/", flow_live, name="flow-live"),
    # Run view and task inbox for canvas owners who are not staff (the admin has both).
    *owner_patterns(),
    path("flows/<uuid:pk>/edit/", flow_edit, name="flow-edit"),
    # Canvas owners need not be staff: the live page has its own sign-in.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
]

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from stitch import services
from stitch.models import RecoveryMark, User

admin.site.site_header = "Stitch operators"
admin.site.site_title = "Stitch"


@admin.register(User)
class StitchUserAdmin(UserAdmin):
    """Deletes go through the service, so live canvases hear of the entities that go."""

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.user_delete(user_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user_id in queryset.values_list("pk", flat=True):
            services.user_delete(user_id=user_id)


@admin.register(RecoveryMark)
class RecoveryMarkAdmin(admin.ModelAdmin):
    """What bulk replays / retries did (read-only): one row per event or run acted on."""

    list_display = ["kind", "target_id", "actor", "created_at"]
    list_filter = ["kind", "created_at"]
    search_fields = ["target_id", "request_key", "actor__username"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

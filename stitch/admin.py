from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from stitch.models import RecoveryMark, User

admin.site.site_header = "Stitch operators"
admin.site.site_title = "Stitch"
admin.site.register(User, UserAdmin)


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

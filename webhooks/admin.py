"""Operators' admin for webhook configs and events (SPEC section 11)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from stitch import admin_bulk
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.sample import send_test_event
from webhooks.validation import webhook_config_problems


class WebhookConfigForm(forms.ModelForm):
    # The secret is write-only here as in the API: the page never shows it.
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current secret.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the secret.")

    class Meta:
        model = WebhookConfig
        fields = [
            "name",
            "canvas",
            "source",
            "endpoint_slug",
            "secret",
            "require_signature",
            "workflow",
            "entry_edge_id",
            "entity_mapping",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("clear_secret"):
            data["secret"] = None
        elif not data.get("secret"):
            data["secret"] = self.instance.secret if self.instance.pk else None
        problems = webhook_config_problems(
            canvas=data.get("canvas"),
            workflow=data.get("workflow"),
            entry_edge_id=data.get("entry_edge_id"),
            entity_mapping=data.get("entity_mapping", {}),
            source=data.get("source"),
            secret=data.get("secret"),
            endpoint_slug=data.get("endpoint_slug"),
        )
        for field, field_messages in problems.items():
            for message in field_messages:
                self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(WebhookConfig)
class WebhookConfigAdmin(admin.ModelAdmin):
    form = WebhookConfigForm
    list_display = [
        "name",
        "source",
        "endpoint_slug",
        "canvas",
        "workflow",
        "is_active",
        "require_signature",
        "created_at",
    ]
    list_filter = ["source", "is_active", "require_signature"]
    search_fields = ["name", "endpoint_slug", "canvas__name", "workflow__name"]
    list_select_related = ["canvas", "workflow"]
    raw_id_fields = ["canvas", "workflow"]
    readonly_fields = ["endpoint_url", "created_at", "updated_at"]
    actions = ["send_test_event"]

    @admin.display(description="Endpoint URL")
    def endpoint_url(self, config: WebhookConfig) -> str:
        return config.endpoint_url

    @admin.action(description="Send a signed test event")
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[WebhookConfig]) -> None:
        for config in queryset:
            delivery = send_test_event(config)
            level = messages.SUCCESS if delivery.status in (200, 202) else messages.ERROR
            self.message_user(
                request, f"{config.name}: HTTP {delivery.status} {delivery.body}", level
            )


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "webhook_config",
        "provider_event_id",
        "status",
        "attempts",
        "accepted",
        "received_at",
        "processed_at",
        "error",
    ]
    list_filter = ["status", "accepted", "webhook_config__source", "received_at"]
    search_fields = ["id", "provider_event_id", "error", "webhook_config__name"]
    list_select_related = ["webhook_config"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    date_hierarchy = "received_at"
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # events only come in through the endpoint

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEvent]:
        # Payloads (up to 1 MiB each) are read only where shown: on the change page.
        return super().get_queryset(request).defer("payload")

    @admin.action(description="Replay selected events (asks first, says how many)")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> Any:
        return admin_bulk.replay_events(self, request, queryset)

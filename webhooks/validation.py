"""Checks a webhook config must pass before it is saved (API and admin alike)."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from entities.services import canvas_graph_ids
from flows.models import CanvasType, Flow
from webhooks import signatures
from webhooks.mapping import MappingError, mapping_check

SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def webhook_config_problems(
    *,
    canvas: Flow | None,
    workflow: Flow | None,
    entry_edge_id: str | None,
    entity_mapping: Any,
    source: str | None,
    secret: str | None,
    endpoint_slug: str | None,
) -> dict[str, list[str]]:
    """Every problem of a config, keyed by model field name (empty when it is fine)."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if endpoint_slug is not None and not SLUG_RE.match(endpoint_slug):
        add("endpoint_slug", "Use 1-100 letters, digits, '-' or '_' (it becomes part of a URL).")
    if workflow is not None:
        if workflow.canvas_type != CanvasType.WORKFLOW:
            add("workflow", f"Flow {workflow.pk} is a {workflow.canvas_type}, not a workflow.")
        if canvas is not None and workflow.owner_id != canvas.owner_id:
            add("workflow", "The workflow must belong to the owner of the canvas.")
    if canvas is not None and entry_edge_id is not None:
        _, edges = canvas_graph_ids(canvas)
        if entry_edge_id not in edges:
            add("entry_edge_id", f"Edge {entry_edge_id!r} is not on canvas {canvas.pk}.")
    try:
        mapping_check(entity_mapping)
    except MappingError as exc:
        add("entity_mapping", str(exc))
    if secret and signatures.scheme_for(source or "") is signatures.STANDARD:
        try:
            signatures.standard_webhook(secret)
        except signatures.SignatureError as exc:
            add("secret", f"Standard Webhooks {exc}.")
    return problems


def webhook_config_check(**fields: Any) -> None:
    """Raise a Django ValidationError naming every bad field."""
    problems = webhook_config_problems(**fields)
    if problems:
        raise ValidationError(problems)

"""Schema-driven fuzzing (schemathesis) of every operation in the running server's
`/api/schema/`, authenticated as a test user: no request may get a 5xx.

Each operation gets FUZZ_EXAMPLES cases from Hypothesis with a fixed seed (the same
cases every run): valid and invalid inputs per the schema, path ids that are real
objects of the user half of the time, and JSON bodies with one of the crafted values
(tests/hostile/crafted.py) written into them. Deletions run last, on real objects. Every
5xx is collected and reported with a curl line to reproduce it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.hostile.conftest import LiveServer
from tests.hostile.crafted import CRAFTED, SLOT, Crafted, with_crafted
from tests.hostile.world import World, world_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FUZZ_EXAMPLES = 10
# Revoking or logging out the fuzzing user's own token would only blind the rest.
SKIPPED_PATHS = re.compile(r"/(revoke|logout)/?$")


def real_path_parameters(path: str, world: World) -> dict[str, str]:
    """Ids of the world's objects for the operation's path parameters."""
    by_prefix = {
        "/api/entities/": world.entity,
        "/api/flows/": world.workflow,
        "/api/journey-events/": world.journey_event,
        "/api/media/": world.media,
        "/api/runs/": world.run,
        "/api/webhook-configs/": world.config,
        "/api/webhook-events/": world.event,
    }
    object_id = next((v for k, v in by_prefix.items() if path.startswith(k)), world.entity)
    return {
        "id": object_id,
        "flow_id": world.workflow,
        "run_id": world.run,
        "node_id": world.run_node,
        "number": "1",
    }


def real_body_ids(world: World) -> dict[str, str]:
    """Ids the bodies refer to, so some creates get past "does not exist"."""
    return {
        "canvas_id": world.canvas,
        "workflow_id": world.workflow,
        "parent_id": world.canvas,
        "entity_id": world.entity,
    }


def _inject(body: Any, data: st.DataObject) -> Any:
    """`body` with SLOT in place of one of its values (or as a new key)."""
    if isinstance(body, dict) and body:
        key = data.draw(st.sampled_from(sorted(body)))
        deeper = data.draw(st.booleans())
        return {**body, key: _inject(body[key], data) if deeper else SLOT}
    if isinstance(body, list) and body:
        index = data.draw(st.integers(0, len(body) - 1))
        return [*body[:index], _inject(body[index], data), *body[index + 1 :]]
    if isinstance(body, dict):
        return {"crafted": SLOT}
    return SLOT


@dataclass
class Findings:
    server_errors: list[str] = field(default_factory=list)
    cases: int = 0

    def record(self, case: Any, response: requests.Response, headers: dict[str, str]) -> None:
        self.cases += 1
        if response.status_code >= 500:
            curl = case.as_curl_command(headers=headers)
            self.server_errors.append(
                f"{case.operation.label} -> {response.status_code} {response.text[:200]}\n"
                f"    {curl[:600]}"
            )


def _fuzz(operation: Any, server: LiveServer, world: World, findings: Findings) -> None:
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    real = real_path_parameters(operation.path, world)
    real_ids = real_body_ids(world)
    json_body = operation.method.upper() in {"POST", "PUT", "PATCH"}

    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def one(case: Any, data: st.DataObject) -> None:
        if data.draw(st.booleans(), label="real ids"):
            if case.path_parameters:
                case.path_parameters = {k: real.get(k, v) for k, v in case.path_parameters.items()}
            if isinstance(case.body, dict):
                case.body = {k: real_ids.get(k, v) for k, v in case.body.items()}
        headers = {**world.auth}
        kwargs: dict[str, Any] = {}
        crafted: Crafted | None = data.draw(
            st.none() | st.sampled_from(list(CRAFTED.values())), label="crafted"
        )
        if json_body and crafted is not None and case.media_type == "application/json":
            body = case.body if isinstance(case.body, dict | list) else {}
            kwargs["data"] = with_crafted(_inject(body, data), crafted)
            headers["Content-Type"] = "application/json"
        try:
            response = case.call(base_url=server.url, headers=headers, timeout=30, **kwargs)
        except requests.ConnectionError as exc:
            findings.server_errors.append(f"{operation.label} -> no answer ({exc})")
            return
        findings.record(case, response, headers)

    one()


def test_no_fuzzed_request_gets_a_server_error(server: LiveServer) -> None:
    world = world_create()
    schema = schemathesis.openapi.from_url(f"{server.url}/api/schema/")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the schema itself must be valid
        if not SKIPPED_PATHS.search(result.ok().path):
            operations.append(result.ok())
    # Deletions last (flows at the very end: deleting one removes what hangs off it).
    operations.sort(
        key=lambda op: (op.method.upper() == "DELETE", op.path.startswith("/api/flows/"))
    )
    findings = Findings()

    for operation in operations:
        _fuzz(operation, server, world, findings)

    assert findings.server_errors == [], "\n".join(findings.server_errors)
    assert findings.cases >= len(operations) * FUZZ_EXAMPLES // 2, findings.cases
    assert server.healthy()


def test_the_schema_covers_every_api_area(server: LiveServer) -> None:
    paths = requests.get(f"{server.url}/api/schema/?format=json", timeout=30).json()["paths"]
    for area in ("auth/token", "entities", "flows", "runs", "media", "webhook-"):
        assert any(f"/api/{area}" in path for path in paths), area


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
SIGNATURE_HEADERS = [
    "Stripe-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Webhook-Id",
    "X-Webhook-Signature",
]
HEADER_TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=255), max_size=60)


def test_no_fuzzed_webhook_delivery_gets_a_server_error(server: LiveServer) -> None:
    # The intake is a plain Django view, outside the OpenAPI schema: fuzzed here.
    world = world_create()
    slugs = [world.open_slug, world.stripe_slug, world.standard_slug]
    errors: list[str] = []

    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        payload=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5),
        crafted=st.none() | st.sampled_from(list(CRAFTED.values())),
        slug=st.sampled_from(slugs),
        headers=st.dictionaries(st.sampled_from(SIGNATURE_HEADERS), HEADER_TEXT, max_size=4),
        data=st.data(),
    )
    def deliver(
        payload: dict, crafted: Crafted | None, slug: str, headers: dict, data: st.DataObject
    ) -> None:
        body = (
            with_crafted(_inject(payload, data), crafted)
            if crafted
            else json.dumps(payload).encode()
        )
        sent = [(name.encode(), value.encode("latin-1")) for name, value in headers.items()]
        response = requests.post(
            f"{server.url}/api/webhooks/{slug}/",
            data=body,
            headers={"Content-Type": "application/json", **dict(sent)},
            timeout=30,
        )
        if response.status_code >= 500:
            errors.append(f"{slug} {headers!r} {body[:200]!r} -> {response.status_code}")

    deliver()
    assert errors == [], "\n".join(errors)
    assert server.healthy()

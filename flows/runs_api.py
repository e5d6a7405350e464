"""Run endpoints (SPEC 4, 5): start and list runs, node actions, worker callbacks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.models import Entity
from flows import callbacks, engine
from flows.engine.tokens import token_attempt
from flows.models import Flow, Run
from stitch import observe
from stitch.api import OwnedQuerysetMixin, Pagination
from stitch.filters import UTCIsoDateTimeFilter

_RUN_FIELDS = [
    "id",
    "flow",
    "flow_version",
    "entity",
    "status",
    "input",
    "trigger",
    "created_at",
    "updated_at",
    "finished_at",
]


class RunSerializer(serializers.ModelSerializer):
    flow_version: serializers.Field = serializers.SlugRelatedField(
        slug_field="number", read_only=True
    )
    node_states = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [*_RUN_FIELDS, "node_states"]
        read_only_fields = fields

    def get_node_states(self, run: Run) -> dict[str, Any]:
        # Live state is in the node rows. A settled run's snapshot (written under the run
        # lock by the step that settled it, rewritten by any later retry) is the same
        # data, and saves a query per run on list pages.
        if run.finished_at is not None and run.node_states:
            return dict(run.node_states)
        return engine.node_states(run)


class LateCallbackSerializer(serializers.Serializer):
    node_id = serializers.CharField()
    attempt = serializers.IntegerField(allow_null=True)
    received_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=["run_cancelled", "earlier_attempt", "node_finished"])
    status = serializers.CharField()
    output = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class RunDetailSerializer(RunSerializer):
    """One run: its node states and every callback recorded but not applied."""

    late_callbacks = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "late_callbacks"]
        read_only_fields = fields

    @extend_schema_field(LateCallbackSerializer(many=True))
    def get_late_callbacks(self, run: Run) -> list[dict[str, Any]]:
        return engine.late_callbacks(run)


class RunChangeSerializer(serializers.ModelSerializer):
    """The answer to an action on a run: the run (without its input, which may hold a
    whole fan-out's array) and the states of the nodes the action changed (template
    nodes left out: GET the run for every node and the summaries)."""

    flow_version: serializers.Field = serializers.SlugRelatedField(
        slug_field="number", read_only=True
    )
    changed_nodes = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [*(f for f in _RUN_FIELDS if f != "input"), "changed_nodes"]
        read_only_fields = fields

    def get_changed_nodes(self, run: Run) -> dict[str, Any]:
        return dict(run.changed_nodes or {})


class RunStartSerializer(serializers.Serializer):
    input = serializers.JSONField(required=False, allow_null=True)
    entity_id = serializers.UUIDField(required=False, allow_null=True)
    trigger = serializers.DictField(required=False, allow_null=True)

    def validate_entity_id(self, value: Any) -> Entity | None:
        if value is None:
            return None
        user = self.context["request"].user
        entity = Entity.objects.filter(pk=value, canvas__owner=user).first()
        if entity is None:
            raise serializers.ValidationError(f"entity {value} does not exist")
        return entity


class CallbackSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["completed", "failed"])
    output = serializers.JSONField(required=False, allow_null=True)
    error = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class CallbackResultSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["applied", "unchanged", "ignored"])


class CallbackRefusedSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["stale", "conflict"])
    detail = serializers.CharField()


class NodeCompleteSerializer(serializers.Serializer):
    output = serializers.JSONField(required=False, allow_null=True)


_ACTIONS = {"cancel", "complete", "retry"}


def _object_body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise serializers.ValidationError({"body": ["must be a JSON object"]})
    return request.data


@extend_schema_view(
    get=extend_schema(responses=RunSerializer(many=True)),
    post=extend_schema(request=RunStartSerializer, responses={201: RunSerializer}),
)
class FlowRunsView(APIView):
    """`GET` the runs of one of your flows; `POST {input?, entity_id?, trigger?}` starts one."""

    def _flow(self, request: Request, flow_id: str) -> Flow:
        return get_object_or_404(
            Flow.objects.select_related("current_version"), pk=flow_id, owner=request.user
        )

    def get(self, request: Request, flow_id: str) -> Response:
        flow = self._flow(request, flow_id)
        paginator = Pagination()
        queryset = Run.objects.filter(flow=flow).select_related("flow_version")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(RunSerializer(page, many=True).data)

    def post(self, request: Request, flow_id: str) -> Response:
        flow = self._flow(request, flow_id)
        serializer = RunStartSerializer(data=_object_body(request), context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = engine.run_start(
            flow=flow,
            input=data.get("input"),
            entity=data.get("entity_id"),
            trigger=data.get("trigger"),
        )
        run = Run.objects.select_related("flow_version").get(pk=run.pk)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunFilter(filters.FilterSet):
    # The same window as the bulk retry's filter: what it would retry can be listed.
    since = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UTCIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Run
        fields = ["status", "flow", "entity", "since", "until"]


@extend_schema_view(
    retrieve=extend_schema(responses=RunDetailSerializer),
    cancel=extend_schema(request=None, responses=RunChangeSerializer),
    complete=extend_schema(request=NodeCompleteSerializer, responses=RunChangeSerializer),
    retry=extend_schema(request=None, responses=RunChangeSerializer),
)
class RunViewSet(
    OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Runs of your flows. Node actions: complete a UX node, retry a failed node."""

    serializer_class = RunSerializer
    owner_field = "flow__owner"
    filterset_class = RunFilter

    def get_queryset(self) -> QuerySet[Run]:
        runs = Run.objects.select_related("flow_version")
        if self.action in _ACTIONS:
            # An action only needs to know the run is yours; input and snapshot may be
            # as large as the fan-out.
            runs = runs.defer("input", "node_states")
        return self.scope(runs)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def _changed(self, run: Run) -> Response:
        """The run as the action left it, with only the node states it changed: reading
        every node would cost as much as the fan-out is wide."""
        return Response(RunChangeSerializer(run).data)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._changed(engine.run_cancel(run=self.get_object()))

    @action(detail=True, methods=["post"], url_path=r"nodes/(?P<node_id>.+)/complete")
    def complete(self, request: Request, pk: str | None = None, node_id: str = "") -> Response:
        run = self.get_object()
        body = NodeCompleteSerializer(data=_object_body(request))
        body.is_valid(raise_exception=True)
        output = body.validated_data.get("output")
        return self._changed(engine.ux_complete(run=run, node_id=node_id, output=output))

    @action(detail=True, methods=["post"], url_path=r"nodes/(?P<node_id>.+)/retry")
    def retry(self, request: Request, pk: str | None = None, node_id: str = "") -> Response:
        return self._changed(engine.node_retry(run=self.get_object(), node_id=node_id))


@extend_schema(
    request=CallbackSerializer,
    responses={200: CallbackResultSerializer, 409: CallbackRefusedSerializer},
)
class CallbackView(observe.CallbackResultsCounted):
    """`POST /api/runs/{run_id}/nodes/{node_id}/callback/?token=...` from a worker.
    No login: the token in the URL, issued for one attempt of the node, authenticates
    the caller (flows.engine.tokens)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request, run_id: str, node_id: str) -> Response:
        # The same reading as the ASGI route that serves callbacks under uvicorn.
        run, token = str(run_id), request.query_params.get("token")
        attempt = token_attempt(run, node_id, token)
        if attempt is None:
            return _answered(callbacks.token_refusal(run, node_id))
        result = callbacks.fields_read(request.data, run_id=run, node_id=node_id, attempt=attempt)
        if isinstance(result, dict):
            return _answered(callbacks.invalid(result))
        [applied] = engine.results_apply(run_id=run, results=[result], missing_raises=True)
        return _answered(callbacks.applied_answer(applied))


def _answered(answer: callbacks.Answer) -> Response:
    return Response(answer.body, status=answer.status)

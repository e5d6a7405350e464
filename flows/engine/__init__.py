"""The execution engine (SPEC 4 and 5): runs that walk a flow version's graph.

Public services: `run_start`, `callback_apply`, `ux_complete`, `node_retry`,
`run_cancel`, `callbacks_expire`, `completion_schedule`, `worker_outcomes_apply` (a
dispatch batch's results under one run lock); reading: `node_states`,
`late_callbacks`, `summary` (a template node's status from its instances'). Node state lives in one
`stitch_run_nodes` row per node (and per Splitter instance) plus counters on the
run row, so one callback costs the same at 10-way and 1,000-way fan-out.
"""

from flows.engine.read import late_callbacks, node_states, summary
from flows.engine.services import (
    CallbackResult,
    Result,
    RunConflict,
    RunNotFound,
    callback_apply,
    callbacks_expire,
    completion_schedule,
    node_retry,
    results_apply,
    run_cancel,
    run_start,
    ux_complete,
    worker_outcome_apply,
    worker_outcomes_apply,
)

__all__ = [
    "CallbackResult",
    "Result",
    "RunConflict",
    "RunNotFound",
    "callback_apply",
    "callbacks_expire",
    "completion_schedule",
    "late_callbacks",
    "node_retry",
    "node_states",
    "results_apply",
    "run_cancel",
    "run_start",
    "summary",
    "ux_complete",
    "worker_outcome_apply",
    "worker_outcomes_apply",
]

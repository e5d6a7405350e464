"""The execution engine (SPEC 4 and 5): runs that walk a flow version's graph.

Public services: `run_start`, `callback_apply`, `ux_complete`, `node_retry`,
`run_cancel`, `callbacks_expire`; reading: `node_states`. Node state lives in one
`stitch_run_nodes` row per node (and per Splitter instance) plus counters on the
run row, so one callback costs the same at 10-way and 1,000-way fan-out.
"""

from flows.engine.read import node_states
from flows.engine.services import (
    RunConflict,
    RunNotFound,
    callback_apply,
    callbacks_expire,
    node_retry,
    run_cancel,
    run_start,
    ux_complete,
    worker_outcome_apply,
)

__all__ = [
    "RunConflict",
    "RunNotFound",
    "callback_apply",
    "callbacks_expire",
    "node_retry",
    "node_states",
    "run_cancel",
    "run_start",
    "ux_complete",
    "worker_outcome_apply",
]

"""The JSON API tests and benchmarks steer the simulated network with.

- `GET|PUT|DELETE /api/failures`: numbers that fail, `{"+2547…": 406 | "Failed:UserInBlackList", …}`
  (`simulator.failures`); PUT replaces the table.
- `GET|POST|DELETE /api/faults`: whole-request faults for the next SMS API calls,
  `{"status": 500, "delay": 12, "count": 2}` (`simulator.faults`).
- `POST /api/flush?timeout=30`: wait until every planned delivery report is posted or given up;
  answers the report counts with `flushed` true (200), or false (504) when the timeout ran out.
  `timeout=0` only reads the counts.
- `GET /api/stats`: counts since start or the last `DELETE /api/messages`, however many messages
  SIM_KEEP_MESSAGES lets the store keep: SMS API calls (`requests`, and by HTTP status), messages
  `accepted`, `recipients` by AT's status code, `unique_numbers`, messages `kept` and `forgotten`,
  and the delivery reports' counts (`delivery_reports`, as `/api/flush` gives them).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from simulator.errors import BadRequest
from simulator.extensions import current
from simulator.failures import parse_table
from simulator.faults import parse_fault

bp = Blueprint("control", __name__)

DEFAULT_FLUSH_TIMEOUT = 30.0
MAX_FLUSH_TIMEOUT = 600.0


def _error(message: str, status: int = 400):
    return jsonify({"error": message}), status


@bp.get("/api/failures")
def show_failures():
    """The configured failures, number → code or delivery status."""
    return jsonify(current().failures.to_json())


@bp.put("/api/failures")
def replace_failures():
    """Replace the failure table with the JSON object in the body."""
    try:
        table = parse_table(request.get_json(silent=True))
    except BadRequest as exc:
        return _error(str(exc))
    failures = current().failures
    failures.replace(table)
    return jsonify(failures.to_json())


@bp.delete("/api/failures")
def clear_failures():
    """Let every number succeed again."""
    return jsonify({"deleted": current().failures.clear()})


@bp.get("/api/faults")
def list_faults():
    """The faults still to apply, oldest first."""
    return jsonify(current().faults.to_json())


@bp.post("/api/faults")
def add_fault():
    """Queue one fault for the next SMS API calls."""
    try:
        fault = parse_fault(request.get_json(silent=True))
    except BadRequest as exc:
        return _error(str(exc))
    faults = current().faults
    faults.add(fault)
    return jsonify(faults.to_json()), 201


@bp.delete("/api/faults")
def clear_faults():
    """Drop every fault and release calls still stalled by one."""
    return jsonify({"deleted": current().faults.clear()})


@bp.post("/api/flush")
def flush_delivery_reports():
    """Wait for every planned delivery report to be posted (or given up); answer the counts."""
    try:
        timeout = float(request.args.get("timeout", DEFAULT_FLUSH_TIMEOUT))
    except ValueError:
        return _error("timeout must be a number of seconds")
    if not 0 <= timeout <= MAX_FLUSH_TIMEOUT:
        return _error(f"timeout must be between 0 and {MAX_FLUSH_TIMEOUT:g} s")
    delivery = current().delivery
    flushed = delivery.flush(timeout)
    return jsonify({"flushed": flushed, **delivery.stats()}), 200 if flushed else 504


@bp.get("/api/stats")
def show_stats():
    """Counts of everything the SMS API took, and of the delivery reports."""
    simulator = current()
    return jsonify({**simulator.messages.stats(), "delivery_reports": simulator.delivery.stats()})

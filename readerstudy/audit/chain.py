"""The audit log's hash chain: how one event's content is serialised and hashed.

This is a contract with every event already stored: change it and every existing chain breaks.
It is pure (no ORM), so the migration that backfilled the chain uses exactly this code.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64  # the `previous_hash` of the first event


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, and numbers written one way only.

    PostgreSQL's jsonb gives back `1.0` as written but `1.5e20` as `150000000000000000000`, so a
    whole-valued float is written as the integer it equals; other floats as Python's shortest
    round-tripping form. An event therefore hashes the same before it is stored and after it is
    read back from either database.
    """
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == math.floor(value):
            return str(int(Decimal(repr(value))))
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = sorted(((str(key), item) for key, item in value.items()), key=lambda kv: kv[0])
        return "{" + ",".join(f"{canonical_json(k)}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    raise TypeError(f"An audit event cannot hold a {type(value).__name__}")


def iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    sequence: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    study_id: int | None,
    target_type: str,
    target_id: str,
    data: Any,
    previous_hash: str,
) -> str:
    """SHA-256 (hex) of the event's content and its predecessor's hash."""
    content = {
        "sequence": sequence,
        "at": iso_utc(at),
        "actor": actor_id,
        "action": action,
        "study": study_id,
        "target_type": target_type,
        "target_id": target_id,
        "data": data,
        "previous_hash": previous_hash,
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()

"""The registry: every key the config service accepts, its JSON schema and its default value.

A key is `{namespace}/{key}`. Values are validated against the key's schema (JSON Schema 2020-12)
before anything is written. Defaults live beside the typed models in shared/config/client.py, so
that a service which has never reached the config service falls back to the same value the
service would answer. A schema only ever changes in ways the values already stored still meet.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from shared.config.client import BALANCING_STRATEGIES, GATEWAY_LIMITS, MATCHING_DIMENSIONS, MATCHING_WEIGHTS
from shared.service.problems import Problem

MAX_VALUE_BYTES = 64 * 1024  # a value, as compact JSON
MAX_ERRORS = 20
RESERVED_NAMESPACES = frozenset({"watch"})  # /api/v1/config/watch/... are routes, not keys


@dataclass(frozen=True)
class RegisteredKey:
    name: str
    description: str
    schema: dict[str, Any]
    default_value: Any
    validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        namespace, slash, key = self.name.partition("/")
        if not slash or not namespace or not key or "/" in key or namespace in RESERVED_NAMESPACES:
            raise ValueError(f"a config key is '{{namespace}}/{{key}}' outside {sorted(RESERVED_NAMESPACES)}, "
                             f"not {self.name!r}")
        object.__setattr__(self, "validator", Draft202012Validator(self.schema))

    @property
    def namespace(self) -> str:
        return self.name.partition("/")[0]

    def default(self) -> Any:
        return copy.deepcopy(self.default_value)

    def errors(self, value: Any, loc: str = "body.value") -> list[dict[str, str]]:
        """What is wrong with `value`, each as `{loc, msg}` with the JSON path inside it; [] when valid."""
        found = [{"loc": loc + "".join(f".{part}" for part in path), "msg": message}
                 for path, message in _not_finite(value)]
        if found:
            return found
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_VALUE_BYTES:
            return [{"loc": loc, "msg": f"the value is {size} bytes as JSON; at most {MAX_VALUE_BYTES} are accepted"}]
        schema_errors = sorted(self.validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
        return [{"loc": loc + "".join(f".{part}" for part in error.absolute_path), "msg": error.message}
                for error in schema_errors[:MAX_ERRORS]]

    def check(self, value: Any, loc: str = "body.value") -> None:
        """422 naming every schema error, when `value` does not meet the key's schema."""
        errors = self.errors(value, loc)
        if errors:
            raise Problem(422, f"the value does not meet the schema of {self.name}: {errors[0]['loc']}: "
                               f"{errors[0]['msg']}", slug="schema-violation", key=self.name, errors=errors)

    def view(self) -> dict[str, Any]:
        return {"key": self.name, "namespace": self.namespace, "description": self.description,
                "schema": self.schema, "default": self.default()}


def _not_finite(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """NaN and infinities: Python's JSON reader accepts them, JSON itself and the databases do not."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path, f"{value} is not a finite number"
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _not_finite(item, (*path, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _not_finite(item, (*path, index))


_WEIGHT = {"type": "number", "minimum": 0}
_PER_MINUTE = {"type": "integer", "minimum": 1, "description": "requests a minute"}

MATCHING_WEIGHTS_KEY = RegisteredKey(
    name=MATCHING_WEIGHTS.name,
    description="How much each dimension (skills, semantic, experience, education, location, salary, recency) "
                "counts in a match score. A dimension left out weighs 0.",
    schema={
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "description": "dimension -> non-negative weight; a dimension left out weighs 0",
        "properties": {dimension: _WEIGHT for dimension in MATCHING_DIMENSIONS},
        "additionalProperties": False,
    },
    default_value=MATCHING_WEIGHTS.default(),
)
GATEWAY_LIMITS_KEY = RegisteredKey(
    name=GATEWAY_LIMITS.name,
    description="The gateway's rate limits and load balancing. A field left out keeps the gateway's "
                "LOOMA_GATEWAY_* setting (RATE_PER_ORG, RATE_PER_USER, RATE_PER_ROUTE, RATE_BURST_SECONDS, "
                "BALANCING).",
    schema={
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "rate_per_org": _PER_MINUTE,
            "rate_per_user": _PER_MINUTE,
            "rate_per_route": {
                "type": "object",
                "description": "route prefix -> requests a minute per user",
                "propertyNames": {"pattern": "^/", "maxLength": 200},
                "additionalProperties": _PER_MINUTE,
            },
            "burst_seconds": {"type": "number", "exclusiveMinimum": 0,
                              "description": "a full bucket holds this many seconds' worth of requests"},
            "balancing": {"enum": list(BALANCING_STRATEGIES)},
        },
        "additionalProperties": False,
    },
    default_value=GATEWAY_LIMITS.default(),
)

REGISTRY: dict[str, RegisteredKey] = {key.name: key for key in (MATCHING_WEIGHTS_KEY, GATEWAY_LIMITS_KEY)}


def registered(name: str) -> RegisteredKey:
    """The key called `name`, or 404."""
    key = REGISTRY.get(name)
    if key is None:
        raise Problem(404, f"no config key {name!r}; registered: {', '.join(sorted(REGISTRY))}",
                      slug="config-key-not-found", key=name)
    return key

"""Stripe's wire format for parameters: form / query encoding with bracket notation.

``metadata[k]=v``, ``items[0][price]=p``, ``expand[]=customer`` decode into nested dicts and
lists; a pydantic model per endpoint then validates them, and its errors become Stripe's
``parameter_missing`` / ``parameter_unknown`` / ``parameter_invalid_*`` errors with the
bracket path in ``param``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from simulators._kit import is_digits

from .errors import InvalidRequestError

M = TypeVar("M", bound=BaseModel)


def decode(raw: str) -> dict[str, Any]:
    """Decode a form body or query string with bracket notation into nested dicts/lists."""
    if not raw:
        return {}
    root: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        bracket = key.find("[")
        if bracket <= 0 or not key.endswith("]"):
            root[key] = value
            continue
        parts = [key[:bracket], *key[bracket + 1:-1].split("][")]
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        last = parts[-1] or str(len(node))  # "expand[]" appends
        node[last] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(is_digits(k) for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def bracket_path(loc: tuple[Any, ...]) -> str:
    if not loc:
        return ""
    head, *rest = (str(p) for p in loc)
    return head + "".join(f"[{p}]" for p in rest)


def _form_bool(value: Any) -> Any:
    """Stripe takes ``true`` and ``false`` for a boolean param, nothing else (``0``, ``yes``
    or ``on`` are "Invalid boolean", which pydantic's lax bool would accept)."""
    if isinstance(value, bool) or value in ("true", "false"):
        return value is True or value == "true"
    raise PydanticCustomError("bool_parsing", "Input should be a valid boolean")


FormBool = Annotated[bool, BeforeValidator(_form_bool)]


class Params(BaseModel):
    """Base of every endpoint's parameters: unknown params are rejected, ``""`` unsets."""

    model_config = ConfigDict(extra="forbid")
    expand: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _blank_unsets(cls, data: Any) -> Any:
        # Stripe treats an empty value as "unset this field", where the field can be unset: a
        # "" for one that cannot (a tax rate's display_name) stays, to fail as "cannot be unset"
        if isinstance(data, dict):
            keep = _cannot_be_unset(cls)
            return {k: (None if v == "" and k not in keep else v) for k, v in data.items()}
        return data


@cache
def _cannot_be_unset(model: type[BaseModel]) -> frozenset[str]:
    """The optional params that ``""`` does not satisfy: a string with a minimum length, a
    pattern or an enum that ``""`` fails, a boolean or a number. ``""`` would unset them,
    which Stripe refuses ("cannot be unset"); a free text, a hash (``metadata=``) or a list
    can be unset. The served OpenAPI says the same, from the same models."""
    def refuses_blank(branch: dict[str, Any]) -> bool:
        kind = branch.get("type")
        if kind in ("boolean", "integer", "number"):
            return True
        if kind != "string" and "enum" not in branch and "const" not in branch:
            return False
        pattern = branch.get("pattern")
        return (branch.get("minLength", 0) >= 1
                or (pattern is not None and re.search(pattern, "") is None)
                or ("enum" in branch and "" not in branch["enum"])
                or ("const" in branch and branch["const"] != ""))

    out = set()
    for name, prop in model.model_json_schema().get("properties", {}).items():
        branches = [b for b in prop.get("anyOf", [prop]) if b != {"type": "null"}]
        if len(branches) < len(prop.get("anyOf", [prop])) and branches \
                and all(refuses_blank(b) for b in branches):
            out.add(name)
    return frozenset(out)


class Nested(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate decoded params; the first problem becomes Stripe's error for it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_stripe_error(exc) from None


def to_stripe_error(exc: ValidationError) -> InvalidRequestError:
    errors = exc.errors()
    # Stripe reports unknown parameters before anything else
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    param = bracket_path(loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        return InvalidRequestError(f"Received unknown parameter: {param}",
                                   code="parameter_unknown", param=param)
    if kind == "missing":
        return InvalidRequestError(f"Missing required param: {param}.",
                                   code="parameter_missing", param=param)
    if value is None or value == "":
        return InvalidRequestError(
            f"You passed an empty string for '{param}'. We assume empty values are an attempt "
            f"to unset a parameter; however '{param}' cannot be unset. You should remove "
            f"'{param}' from your request or supply a non-empty value.",
            code="parameter_invalid_empty", param=param)
    if kind.startswith("int_"):
        return InvalidRequestError(f"Invalid integer: {value}",
                                   code="parameter_invalid_integer", param=param)
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "").replace("'", "")
        return InvalidRequestError(f"Invalid {param}: must be one of {expected}", param=param)
    if kind.startswith("bool"):
        return InvalidRequestError(f"Invalid boolean: {value}", param=param)
    if kind.startswith(("float", "decimal")):
        return InvalidRequestError(f"Invalid decimal: {value}", param=param)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return InvalidRequestError("Invalid hash", param=param)
    if kind == "list_type":
        return InvalidRequestError("Invalid array", param=param)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        ctx = err.get("ctx", {})
        words = {"ge": "greater than or equal to", "le": "less than or equal to",
                 "gt": "greater than", "lt": "less than"}
        bound = " and ".join(f"{words.get(k, k)} {v}" for k, v in ctx.items())
        return InvalidRequestError(f"Invalid {param}: must be {bound}", param=param)
    if kind in ("string_too_long", "too_long"):
        return InvalidRequestError(f"Invalid {param}: {err['msg'].lower()}", param=param)
    return InvalidRequestError(f"Invalid {param}: {err['msg']}", param=param)

"""Secrets in settings: every credential is a pydantic ``SecretStr`` (shown as ``**********`` in
reprs, ``model_dump_json`` and ``harness config``), given in one of three forms:

- ``"env:NAME"`` — the value of environment variable ``NAME``;
- ``"file:/run/secrets/name"`` — the content of a file (one trailing newline dropped);
- ``"test:value"`` — an inline *test* value (the simulators' built-in credentials are test
  values too).

``harness.toml`` refuses any other inline value of a secret (``harness.config``). Environment
variables (``HARNESS_*``, ``O2C_*``) may carry the value itself: the environment is a secret
store. Shared by the harness, the simulators and the reference layer (``harness.canonical`` is
the one harness package both may import).
"""

from __future__ import annotations

import os
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin, overload

from pydantic import BaseModel, BeforeValidator, SecretStr

ENV = "env:"
FILE = "file:"
TEST = "test:"
PREFIXES = (ENV, FILE, TEST)
HINT = ('give it as "env:VARIABLE" or "file:/path/to/secret", or mark a test value '
        '"test:..."')


def resolve(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """The value a secret setting stands for; anything but a reference passes unchanged."""
    if isinstance(value, SecretStr) or not isinstance(value, str):
        return value
    if value.startswith(ENV):
        name = value[len(ENV):]
        env = os.environ if environ is None else environ
        if not name or name not in env:
            raise ValueError(f"environment variable {name!r} (named by {value!r}) is not set")
        return env[name]
    if value.startswith(FILE):
        path = Path(value[len(FILE):]).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ValueError(f"cannot read secret file {str(path)!r}: {reason}") from None
        return text[:-1] if text.endswith("\n") else text
    if value.startswith(TEST):
        return value[len(TEST):]
    return value


Secret = Annotated[SecretStr, BeforeValidator(resolve)]
"""A credential: ``SecretStr`` that also accepts ``env:``/``file:``/``test:`` references."""


def builtin_secret(value: str) -> SecretStr:
    """A built-in default credential (a test value)."""
    return SecretStr(value)


@overload
def reveal(value: SecretStr | str) -> str: ...
@overload
def reveal(value: None) -> None: ...
@overload
def reveal(value: SecretStr | str | None) -> str | None: ...


def reveal(value: SecretStr | str | None) -> str | None:
    """The plain value, for the one place that sends it (an auth header, an HMAC key)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def is_reference(value: str) -> bool:
    return value.startswith(PREFIXES)


def is_secret_type(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if get_origin(annotation) is Annotated:
        return is_secret_type(get_args(annotation)[0])
    return False


def _unwrap(annotation: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` → ``X`` (secrets stay Annotated)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated and not is_secret_type(annotation):
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def inline_secrets(data: Mapping[str, Any], model: type[BaseModel],
                   path: tuple[str, ...] = ()) -> Iterator[str]:
    """Dotted paths in ``data`` (a parsed settings file for ``model``) where a secret is
    given inline without ``test:``; a secret used as a mapping key is named by its mapping."""
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is not None:
            yield from _walk(value, field.annotation, (*path, key))


def _walk(value: Any, annotation: Any, path: tuple[str, ...]) -> Iterator[str]:
    annotation = _unwrap(annotation)
    if is_secret_type(annotation):
        if isinstance(value, str) and not is_reference(value):
            yield ".".join(path)
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, Mapping):
            yield from inline_secrets(value, annotation, path)
    elif origin in (list, tuple, set, frozenset) and args and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, args[0], (*path, str(i)))
    elif origin is dict and len(args) == 2 and isinstance(value, Mapping):
        key_is_secret = is_secret_type(_unwrap(args[0]))
        for k, item in value.items():
            if key_is_secret and isinstance(k, str) and not is_reference(k):
                yield ".".join(path) + " (a key)"
                continue
            yield from _walk(item, args[1], (*path, "<key>" if key_is_secret else str(k)))


def secret_path(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """Whether a validation error location points into a secret (its input is not shown)."""
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        if is_secret_type(annotation):
            return True
        origin, args = get_origin(annotation), get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return False
            annotation = field.annotation
        elif origin in (list, tuple, set, frozenset) and args:
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            if is_secret_type(_unwrap(args[0])):
                return True
            annotation = args[1]
        else:
            return False
    return is_secret_type(_unwrap(annotation))


__all__ = [
    "ENV",
    "FILE",
    "HINT",
    "PREFIXES",
    "TEST",
    "Secret",
    "builtin_secret",
    "inline_secrets",
    "is_reference",
    "is_secret_type",
    "resolve",
    "reveal",
    "secret_path",
]

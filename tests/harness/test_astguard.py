"""The gh-106905 workaround: ast.parse serialized on affected CPythons, the crash explained."""

from __future__ import annotations

import ast
import threading

from harness import astguard


def test_serialized_parse_still_parses_from_many_threads() -> None:
    installed = astguard.serialize_ast_parse()
    assert installed == astguard.AFFECTED
    assert astguard.serialize_ast_parse() == installed  # idempotent
    errors: list[BaseException] = []
    source = "def f(x):\n    return [y for y in x if y]\n" * 50

    def parse() -> None:
        try:
            for _ in range(20):
                assert isinstance(ast.parse(source), ast.Module)
        except BaseException as exc:  # pragma: no cover - the bug itself
            errors.append(exc)

    threads = [threading.Thread(target=parse) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_the_known_crash_is_explained_not_hidden() -> None:
    text = astguard.explain("Stateful tests: Runtime Error: AST constructor recursion depth "
                            "mismatch (before=39, after=67)")
    assert "gh-106905" in text and "stateful phase was skipped" in text
    assert astguard.explain("something else") == "something else"

"""Console reporters of ``harness gate``: a live spinner per stage in a terminal, plain lines
in CI (one per case, no control codes)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from .gate import CaseResult, GateEvent, GateResult, Reporter, StageFinished, StageStarted

_MARKS = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]", "skipped": "[yellow]SKIP[/]"}
_PLAIN = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


def _line(case: CaseResult, rich_marks: bool) -> str:
    detail = f" — {escape(case.message)}" if case.message else ""
    mark = _MARKS[case.status] if rich_marks else _PLAIN[case.status]
    return f"{mark} {escape(case.stage)}: {escape(case.name)} ({case.duration_s:.2f}s){detail}"


def plain_reporter(console: Console) -> Reporter:
    """One line per case and per stage (what a CI log shows)."""

    def report(event: GateEvent) -> None:
        if isinstance(event, CaseResult):
            console.print(_line(event, rich_marks=True), highlight=False, soft_wrap=True)
        elif isinstance(event, StageStarted):
            detail = f" ({escape(event.detail)})" if event.detail else ""
            console.print(f"== {escape(event.stage)}{detail}", highlight=False)

    return report


class LiveReporter:
    """A spinner naming the running stage, with the cases printed above it as they finish."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status: Status | None = None
        self.done: list[str] = []

    def __call__(self, event: GateEvent) -> None:
        if isinstance(event, StageStarted):
            text = f"[bold]{event.stage}[/] {event.detail}".rstrip()
            if self.status is None:
                self.status = self.console.status(text, spinner="dots")
                self.status.start()
            else:
                self.status.update(text)
        elif isinstance(event, CaseResult):
            self.console.print(_line(event, rich_marks=True), highlight=False)
        elif isinstance(event, StageFinished):
            self.done.append(event.stage)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


def console_reporter(console: Console, live: bool) -> Reporter:
    return LiveReporter(console) if live else plain_reporter(console)


def verdict(console: Console, result: GateResult) -> None:
    failed = result.failed_stages()
    head = "[green]gate passed[/]" if result.passed else \
        f"[red]gate failed[/] at {', '.join(failed)}"
    console.print(f"{head} in {result.duration_s:.0f}s — report: "
                  f"{result.report_dir / 'report.html'}", highlight=False, soft_wrap=True)


__all__ = ["LiveReporter", "console_reporter", "plain_reporter", "verdict"]

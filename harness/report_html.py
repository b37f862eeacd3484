"""``report.html``: one self-contained page (inline CSS and SVG, no script, no network) built
from the ``summary.json`` document — stage table, latency percentiles and histograms,
throughput over time, contract matrix, fuzz findings with repro commands, fault-matrix table,
timelines of the failing business keys."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #d5d9e0;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f2f4f7}code,pre{font:12px ui-monospace,monospace}
pre{background:#f6f8fa;padding:6px;white-space:pre-wrap;word-break:break-all;margin:2px 0}
.passed{color:#137333;font-weight:600}.failed{color:#c5221f;font-weight:600}
.skipped,.error{color:#a56300;font-weight:600}.verdict{font-size:18px;padding:8px 12px;
display:inline-block;border-radius:4px}.verdict.passed{background:#e6f4ea}
.verdict.failed{background:#fce8e6}.muted{color:#5f6368}.plots{display:flex;flex-wrap:wrap;gap:16px}
svg{background:#fff;border:1px solid #e3e6ea}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _status(value: str) -> str:
    return f'<span class="{_e(value)}">{_e(value)}</span>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# -- plots (inline SVG) -----------------------------------------------------------------------
def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *,
              width: int = 420, height: int = 220, color: str = "#1a73e8") -> str:
    """A bar chart as an inline ``<svg>`` (one ``<rect class="bar">`` per value)."""
    left, bottom, top = 40, 34, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(values, default=0) or 1
    step = plot_w / max(1, len(values))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{_e(title)}">',
             f'<text x="{left}" y="16" font-size="12" font-weight="600">{_e(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
             f'stroke="#888"/>',
             f'<text x="4" y="{top + 8}" font-size="10">{peak:g}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / peak
        x = left + i * step + step * 0.1
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                     f'width="{max(1.0, step * 0.8):.1f}" height="{max(h, 0.0):.1f}" '
                     f'fill="{color}"><title>{_e(label)}: {value:g}</title></rect>')
        if len(labels) <= 12 or i % max(1, len(labels) // 10) == 0:
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" font-size="9">'
                         f'{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, xs: Sequence[float], ys: Sequence[float], *, x_label: str = "",
               width: int = 420, height: int = 220, color: str = "#188038") -> str:
    """A line chart as an inline ``<svg>`` (a ``<polyline class="series">``)."""
    left, bottom, top = 40, 34, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    x_max = max(xs, default=0) or 1
    y_max = max(ys, default=0) or 1
    points = " ".join(f"{left + plot_w * x / x_max:.1f},{top + plot_h - plot_h * y / y_max:.1f}"
                      for x, y in zip(xs, ys, strict=True))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{_e(title)}">'
            f'<text x="{left}" y="16" font-size="12" font-weight="600">{_e(title)}</text>'
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
            f'stroke="#888"/><line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" '
            f'stroke="#888"/>'
            f'<text x="4" y="{top + 8}" font-size="10">{y_max:g}</text>'
            f'<text x="{left + plot_w - 60}" y="{height - 6}" font-size="10">'
            f'{_e(x_label)} {x_max:g}</text>'
            f'<polyline class="series" fill="none" stroke="{color}" stroke-width="2" '
            f'points="{points}"/></svg>')


# -- sections --------------------------------------------------------------------------------
def _stages(doc: dict[str, Any]) -> str:
    rows = []
    for stage in doc["stages"]:
        cases = [c for c in doc["cases"] if c["stage"] == stage["name"]]
        notes = "<br>".join(f'{_status(c["status"])} {_e(c["name"])}'
                            + (f': <span class="muted">{_e(c["message"][:300])}</span>'
                               if c["message"] else "") for c in cases)
        rows.append([_e(stage["name"]), _status(stage["status"]),
                     f'{stage["duration_s"]:.1f}s', notes])
    return "<h2>Stages</h2>" + _table(["stage", "status", "time", "checks"], rows,
                                      "stage-table")


def _load(load: dict[str, Any] | None) -> str:
    if not load:
        return "<h2>Load</h2><p class='muted'>no load run in this gate</p>"
    out = [f"<h2>Load</h2><p>{_e(load['scenario'])}: {_e(load['users'])} users for "
           f"{_e(load['run_time_s'])}s</p>"]
    rows = []
    for name, stats in (load.get("business") or {}).items():
        rows.append([_e(name), _e(stats.get("count")), _e(stats.get("failures")),
                     *(_e(stats.get(k)) for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms",
                                                    "max_ms"))])
    for endpoint in load.get("endpoints") or []:
        rows.append([_e(endpoint.get("name")),
                     _e(endpoint.get("count")), _e(endpoint.get("failures")),
                     _e(endpoint.get("p50_ms")), "", _e(endpoint.get("p95_ms")),
                     _e(endpoint.get("p99_ms")), ""])
    out.append(_table(["latency", "count", "failures", "p50 ms", "p90 ms", "p95 ms", "p99 ms",
                       "max ms"], rows))
    if load.get("slas"):
        out.append(_table(["SLA", "threshold", "actual", "verdict"], [
            [_e(s["sla"]), _e(s["threshold"]), _e(s["actual"]),
             _status("passed" if s["passed"] else "failed") + f" {_e(s['reason'])}"]
            for s in load["slas"]]))
    plots = []
    for name, buckets in (load.get("histograms") or {}).items():
        labels = [f"≤{b['le_ms']}" if b["le_ms"] is not None else "more" for b in buckets]
        plots.append(bar_chart(f"{name} latency histogram (ms)", labels,
                               [float(b["count"]) for b in buckets]))
    series = load.get("throughput") or []
    if series:
        plots.append(line_chart("business events completed per second",
                                [float(p["t_s"]) for p in series],
                                [float(p["events"]) for p in series], x_label="s"))
    if not plots:
        plots.append("<p class='muted'>no business event completed: nothing to plot</p>")
    out.append('<div class="plots">' + "".join(plots) + "</div>")
    return "".join(out)


def _contracts(contracts: dict[str, Any] | None) -> str:
    if not contracts:
        return "<h2>Contract matrix</h2><p class='muted'>no contract verification</p>"
    rows = [[_e(m["consumer"]), _e(m["provider"]),
             _status("failed" if m["failed"] else "passed" if m["passed"] else "skipped"),
             _e(m["passed"]), _e(m["failed"]), _e(m["skipped"])] for m in contracts["matrix"]]
    return "<h2>Contract matrix</h2>" + _table(
        ["consumer", "provider", "verdict", "passed", "failed", "skipped"], rows,
        "contract-matrix")


def _fuzz(fuzz: dict[str, Any] | None) -> str:
    if not fuzz:
        return "<h2>Fuzz findings</h2><p class='muted'>no fuzzing</p>"
    findings = fuzz.get("findings") or []
    head = (f"<h2>Fuzz findings</h2><p>{_e(fuzz.get('cases'))} generated cases, "
            f"{_e(fuzz.get('max_examples'))} examples per operation, "
            f"{len(findings)} finding(s)</p>")
    if not findings:
        return head
    rows = [[_e(f["target"]), _e(f["operation"]), _e(f["check"]),
             f"{_e(f['title'])}<pre>{_e(f['message'][:600])}</pre>",
             f"<pre>{_e(f['curl'])}</pre>"] for f in findings[:100]]
    return head + _table(["target", "operation", "check", "finding", "reproduce"], rows)


def _matrix(matrix: dict[str, Any] | None) -> str:
    if not matrix:
        return "<h2>Fault matrix</h2><p class='muted'>no fault-matrix cell</p>"
    rows = [[_e(c["scenario"]), _e(c["profile"]), _status(c["status"]),
             f'{c["duration_s"]:.1f}s',
             "<br>".join(f"{_e(b['check'])}: <b>{_e(b['key'])}</b> {_e(b['message'])}"
                         for b in c["breaches"][:20]) + (_e(c["error"]) if c["error"] else "")]
            for c in matrix["cells"]]
    return "<h2>Fault matrix</h2>" + _table(
        ["scenario", "profile", "verdict", "time", "breaches"], rows, "fault-matrix")


def _timelines(timelines: list[dict[str, Any]], matrix: dict[str, Any] | None) -> str:
    out = ["<h2>Timelines of failing business keys</h2>"]
    keyed = [b for c in (matrix or {}).get("cells", []) for b in c["breaches"]]
    if not timelines and not keyed:
        return out[0] + "<p class='muted'>no failing business key</p>"
    for line in timelines:
        steps = [[_e(s.get("at")), _e(s.get("system")), _e(s.get("step")),
                  f"<code>{_e(s.get('detail'))}</code>"] for s in line.get("steps", [])]
        out.append(f"<h3>{_e(line['key'])} <span class='muted'>({_e(line['source'])}, "
                   f"{_e(line['url'])})</span></h3>")
        out.append(_table(["at", "system", "step", "detail"], steps) if steps else
                   f"<p class='muted'>no step recorded {_e(line.get('error', ''))}</p>")
    for breach in keyed[:50]:
        out.append(f"<p><b>{_e(breach['key'])}</b> ({_e(breach['check'])}): "
                   f"{_e(breach['message'])} — timeline was at "
                   f"<code>{_e(breach['timeline'])}</code> (the cell's layer has stopped)</p>")
    return "".join(out)


def render(doc: dict[str, Any]) -> str:
    """The whole page for one ``summary.json`` document."""
    verdict = "passed" if doc["passed"] else "failed"
    failed = ", ".join(doc.get("failed_stages") or [])
    counts = doc["counts"]
    machine = doc.get("machine") or {}
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>harness gate {_e(doc['run_id'])}: {verdict}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>harness gate — run {_e(doc['run_id'])}</h1>"
        f'<div class="verdict {verdict}" id="verdict">gate {verdict}'
        + (f" at {_e(failed)}" if failed else "") + "</div>"
        f"<p class='muted'>{counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped in {doc['duration_s']:.0f}s · budget "
        f"{_e(doc['options']['budget'])} · system under test "
        f"{_e(doc['options']['sut_url'] or 'reference layer')} · harness "
        f"{_e(doc['harness_version'])} · {_e(machine.get('cpus'))} CPUs, load "
        f"{_e(machine.get('loadavg_before'))}</p>"
        + _stages(doc) + _load(doc.get("load")) + _contracts(doc.get("contracts"))
        + _fuzz(doc.get("fuzz")) + _matrix(doc.get("fault_matrix"))
        + _timelines(doc.get("timelines") or [], doc.get("fault_matrix"))
        + "</body></html>")


__all__ = ["bar_chart", "line_chart", "render"]

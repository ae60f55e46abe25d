"""``kctl load``'s events drawn three ways: a live progress display (stderr, terminals only),
the report (a step table, the recommendation, a latency histogram), and one JSON document.

rich is imported here, and this module only when ``kctl load`` runs: tables, a progress bar
and a histogram are where it earns its import time.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from kctl.contract.replies import DEADLINE_S
from kctl.load.run import (
    Event,
    Finished,
    Recommendation,
    Started,
    StepFinished,
    StepProgress,
    StepStarted,
    why_not,
)
from kctl.load.stats import BUCKETS, TWO_XX, StepResult
from kctl.render.escape import escape_untrusted as visible

PLAIN_WIDTH = 100  # columns when stdout is not a terminal
BAR_WIDTH = 40
_BLOCKS = " ▏▎▍▌▋▊▉█"


def seconds(value: float | None) -> str:
    """A latency for a table cell: "12ms", "1.49s", or "none" for a percentile that fell on a
    request that never got an answer."""
    if value is None:
        return "none"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


# --- live progress (stderr) ---------------------------------------------------------------------


class LiveProgress:
    """A bar per step while it runs and one line per step after; for terminals only."""

    def __init__(self, stream: IO[str], *, color: bool) -> None:
        self.console = Console(
            file=stream, force_terminal=True, no_color=not color, highlight=False
        )
        # refreshed on each event (5 a second), not by rich's own thread, which would take the
        # GIL from the client being measured
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
            transient=True,
            auto_refresh=False,
        )
        self._task: Any = None

    def __call__(self, event: Event) -> None:
        match event:
            case StepStarted():
                if self._task is None:
                    self.progress.start()
                else:
                    self.progress.remove_task(self._task)
                self._task = self.progress.add_task(
                    f"step {event.number}: {event.concurrency} concurrent",
                    total=event.requests,
                    status="",
                )
                self.progress.refresh()
            case StepProgress():
                counts = event.counts
                status = "  ".join(f"{b} {counts[b]}" for b in BUCKETS if counts[b])
                self.progress.update(self._task, completed=event.done, status=status)
                self.progress.refresh()
            case StepFinished():
                self.progress.update(self._task, completed=event.result.sent)
                self.progress.console.print(step_line(event.result), markup=False)
                self.progress.refresh()
            case Finished():
                self.close()
            case Started():
                pass

    def close(self) -> None:
        self.progress.stop()


def step_line(result: StepResult) -> str:
    mark = "held" if result.holds else f"did not hold: {why_not(result)}"
    return (
        f"{result.concurrency:>5} concurrent: {result.sent} requests, {result.throughput:,.0f}/s,"
        f" p99 {seconds(result.latency.p99)}, {result.within_deadline:.1%} within"
        f" {DEADLINE_S:g} s; {mark}"
    )


# --- the report (stdout) ------------------------------------------------------------------------


class Report:
    """Collects the events and writes ``render(started, finished)`` when the run finishes: the
    text report or the JSON document."""

    def __init__(self, out: IO[str], render: Callable[[Started, Finished], str]) -> None:
        self.out = out
        self.render = render
        self.started: Started | None = None

    def __call__(self, event: Event) -> None:
        match event:
            case Started():
                self.started = event
            case Finished():
                assert self.started is not None
                self.out.write(self.render(self.started, event))
                self.out.flush()
            case _:
                pass


def render_text(started: Started, finished: Finished, color: bool, width: int | None) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=width or PLAIN_WIDTH,
        highlight=False,
        emoji=False,
        soft_wrap=True,  # lines of text stay whole; a terminal wraps them itself
    )
    _heading(console, started)
    if finished.steps:
        console.print(_step_table(finished.steps))
        _reasons(console, finished.steps)
        for title, step in _histograms(finished):
            console.print(Text(title, style="bold"))
            console.print(_histogram(step))
    if finished.recommendation is not None:
        _recommendation(console, finished.recommendation)
    if finished.interrupted:
        console.print(Text("interrupted: the last step shows what was measured before Ctrl-C"))
    return buffer.getvalue()


def _heading(console: Console, started: Started) -> None:
    target = started.target
    where = f"{target.kind} {visible(target.url)}"
    if target.kind == "sandbox":
        limit = target.sandbox_max_concurrency
        where += f" (latency {target.sandbox_latency or 0:g} s, max concurrency {limit or 'none'})"
    payload = started.payload
    what = payload.kind + (f" {visible(payload.name)}" if payload.name else "")
    console.print(
        Text(f"kctl load: provider {visible(started.provider)} ({started.channel}) -> {where}")
    )
    line = f"payload: {what}, to {', '.join(payload.recipients)}"
    if payload.samples:
        line += "; made-up values: " + ", ".join(visible(s) for s in payload.samples)
    console.print(Text(line))
    console.print(
        Text(
            f"CleverTap waits {DEADLINE_S:g} s for each answer; kctl waits up to"
            f" {started.timeout:g} s to see how late it is\n",
            style="dim",
        )
    )


def _step_table(steps: tuple[StepResult, ...]) -> Table:
    table = Table(box=None, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for name in ("in flight", "sent", "req/s", "p50", "p95", "p99", "max", f"<={DEADLINE_S:g}s"):
        table.add_column(name, justify="right")
    for bucket in BUCKETS:
        table.add_column(bucket, justify="right")
    table.add_column("")
    for step in steps:
        lat = step.latency
        counts = step.counts
        cells: list[str | Text] = [
            str(step.concurrency),
            str(step.sent),
            f"{step.throughput:,.0f}",
            seconds(lat.p50),
            seconds(lat.p95),
            _late(seconds(lat.p99), lat.p99),
            _late(seconds(lat.max), lat.max),
            Text(
                f"{step.within_deadline:.1%}", style="green" if step.within_deadline == 1 else "red"
            ),
        ]
        for bucket in BUCKETS:
            bad = bucket != TWO_XX and counts[bucket] > 0
            cells.append(Text(str(counts[bucket]), style="red" if bad else ""))
        cells.append(Text("held", style="green") if step.holds else Text("over", style="red"))
        table.add_row(*cells)
    return table


def _late(text: str, value: float | None) -> Text:
    return Text(text, style="red" if value is None or value >= DEADLINE_S else "")


def _reasons(console: Console, steps: tuple[StepResult, ...]) -> None:
    lines = []
    for step in steps:
        for reason, count in step.reasons:
            lines.append(f"  {step.concurrency} concurrent: {count} x {visible(reason)}")
    if lines:
        console.print(Text("\nwhy (timeouts and other answers):"))
        for line in lines[:20]:
            console.print(Text(line))
        if len(lines) > 20:
            console.print(Text(f"  ... and {len(lines) - 20} more (see --json)"))


def _histograms(finished: Finished) -> list[tuple[str, StepResult]]:
    """The fixed run's step; for a ramp, the step it recommends and the lowest that did not
    hold, the two sides of the limit."""
    steps = finished.steps
    rec = finished.recommendation
    if rec is None:
        return [(f"\nlatency at {steps[-1].concurrency} concurrent", steps[-1])]
    chosen: list[tuple[str, StepResult]] = []
    held = [s for s in steps if s.concurrency == rec.held]
    if held:
        chosen.append((f"\nlatency at {rec.held} concurrent (held)", held[-1]))
    failing = sorted((s for s in steps if not s.holds), key=lambda s: s.concurrency)
    if failing:
        chosen.append(
            (f"\nlatency at {failing[0].concurrency} concurrent (did not hold)", failing[0])
        )
    return chosen


def _histogram(step: StepResult) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    table.add_column(justify="right")
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    table.add_column(justify="right")
    rows = [(b.upper, b.count) for b in step.histogram]
    used = [i for i, (_, n) in enumerate(rows) if n]
    total = step.sent or 1
    if step.latency.unanswered:
        rows.append((-1.0, step.latency.unanswered))  # -1: no answer at all
        used.append(len(rows) - 1)
    if not used:
        table.add_row("", Text("no answers to draw"), "", "")
        return table
    peak = max(n for _, n in rows)
    previous: float | None = None
    marked = False
    for upper, count in rows[used[0] : used[-1] + 1]:
        beyond = upper is None or upper < 0 or upper > DEADLINE_S
        if beyond and not marked:
            table.add_row(
                "", Text(f"--- CleverTap's {DEADLINE_S:g} s deadline ---", style="dim"), "", ""
            )
            marked = True
        if upper is None:
            label = f"> {seconds(previous)}"
        elif upper < 0:
            label = "no answer"
        else:
            label = f"<= {seconds(upper)}"
        previous = upper if upper is not None and upper >= 0 else previous
        style = "red" if beyond else "green"
        table.add_row(
            label, Text(_bar(count, peak), style=style), str(count), f"{count / total:.1%}"
        )
    return table


def _bar(count: int, peak: int) -> str:
    eighths = round(count / peak * BAR_WIDTH * 8) if peak else 0
    if count and not eighths:
        eighths = 1  # a bin with anything in it shows
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")


def _recommendation(console: Console, rec: Recommendation) -> None:
    console.print()
    if rec.max_concurrency is None:
        console.print(Text("no max_concurrency to recommend", style="bold red"))
    else:
        console.print(
            Text(f"recommended max_concurrency: {rec.max_concurrency}", style="bold green")
        )
    console.print(Text(f"  {rec.reason}"))
    if rec.config_note:
        console.print(Text(f"  note: {rec.config_note}", style="yellow"))


# --- JSON ---------------------------------------------------------------------------------------


def render_json(started: Started, finished: Finished) -> str:
    target = started.target
    rec = finished.recommendation
    doc: dict[str, Any] = {
        "version": 1,
        "provider": started.provider,
        "channel": started.channel,
        "target": {
            "url": target.url,
            "kind": target.kind,
            "sandbox": {
                "latency_s": target.sandbox_latency or 0.0,
                "max_concurrency": target.sandbox_max_concurrency,
            }
            if target.kind == "sandbox"
            else None,
        },
        "payload": {
            "kind": started.payload.kind,
            "name": started.payload.name,
            "samples": list(started.payload.samples),
            "recipients": list(started.payload.recipients),
            "example": started.payload.example,
        },
        "deadline_s": DEADLINE_S,
        "timeout_s": started.timeout,
        "duration_s": started.duration,
        "ramp": started.ramp,
        "steps": [step_data(s) for s in finished.steps],
        "recommendation": None
        if rec is None
        else {
            "max_concurrency": rec.max_concurrency,
            "held": rec.held,
            "reason": rec.reason,
            "config_note": rec.config_note,
        },
        "config_max_concurrency": finished.configured,
        "interrupted": finished.interrupted,
        "exit_code": 130 if finished.interrupted else finished.exit_code,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def step_data(step: StepResult) -> dict[str, Any]:
    lat = step.latency
    return {
        "concurrency": step.concurrency,
        "requests_planned": step.planned,
        "requests_sent": step.sent,
        "elapsed_s": round(step.elapsed, 4),
        "throughput_rps": round(step.throughput, 1),
        # null: the percentile fell on a request that got no answer within timeout_s
        "latency_s": {
            k: _round(v)
            for k, v in (("p50", lat.p50), ("p95", lat.p95), ("p99", lat.p99), ("max", lat.max))
        },
        "within_deadline": round(step.within_deadline, 4),
        "counts": {b: step.counts[b] for b in BUCKETS},
        "late": step.late,
        "unanswered": lat.unanswered,
        "connection_failures": step.connection_failures,
        "reasons": [{"reason": r, "count": n} for r, n in step.reasons],
        "histogram": [{"le_s": b.upper, "count": b.count} for b in step.histogram],
        "holds": step.holds,
        "stopped": step.stopped,
        "exit_code": step.exit_code,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)

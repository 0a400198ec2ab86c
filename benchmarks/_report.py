"""Turn the runs into a Markdown table, the PASS/MISS targets and a PNG chart."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._harness import Contender, Run, Scenario

__all__ = ["TABLE_COLUMNS", "Report", "Target", "build", "chart"]

TABLE_COLUMNS = (
    "Scenario",
    "Contender",
    "Records",
    "Runs",
    "Wall s",
    "Records/s",
    "CPU s",
    "Peak RSS MB",
    "Requests",
    "Status req/job",
    "Batches",
    "Jobs",
    "Wall / asyncbulk (per round)",
    "Notes",
)

REFERENCE = "asyncbulk"


@dataclass(frozen=True)
class Target:
    """One goal, the measured value and whether it was met (``None``: its scenario did not run)."""

    name: str
    measured: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        """``PASS``, ``MISS`` or ``n/a``."""
        return "n/a" if self.passed is None else ("PASS" if self.passed else "MISS")


@dataclass(frozen=True)
class Report:
    """The rendered report."""

    markdown: str
    targets: tuple[Target, ...]


def _ok(runs: Sequence[Run], scenario: str, contender: str) -> list[Run]:
    return [r for r in runs if r.scenario == scenario and r.contender == contender and r.ok]


def _median(runs: Sequence[Run], key: Callable[[Run], float]) -> float:
    return statistics.median(key(r) for r in runs)


def _med(runs: Sequence[Run], scenario: str, contender: str, key: Callable[[Run], float]) -> float | None:
    chosen = _ok(runs, scenario, contender)
    return _median(chosen, key) if chosen else None


def _ratios(runs: Sequence[Run], scenario: str, contender: str) -> list[float]:
    """This contender's wall time over asyncbulk's, round by round (only rounds where both ran)."""
    ours = {r.round: r.wall_seconds for r in _ok(runs, scenario, REFERENCE)}
    return [r.wall_seconds / ours[r.round] for r in _ok(runs, scenario, contender) if ours.get(r.round)]


def _notes(chosen: Sequence[Run]) -> str:
    first = chosen[0]
    notes = []
    child = first.child
    if first.contender == "split-merge":

        def rate(key: str) -> str:
            return f"{_median(chosen, lambda r: float(r.child.get(key, 0))):,.0f}"

        notes.append(
            f"split {rate('split_mb_per_s')} MB/s (validate {rate('validate_mb_per_s')}, chunk "
            f"{rate('chunk_mb_per_s')}, read {rate('read_mb_per_s')}); merge {rate('merge_records_per_s')} "
            f"rec/s; peak RSS after split {rate('peak_rss_mb_after_split')} MB"
        )
    elif child.get("succeeded") is not None:
        text = f"{int(child['succeeded']):,} ok / {int(child.get('failed') or 0):,} failed"
        if child.get("unprocessed"):
            text += f" / {int(child['unprocessed']):,} unprocessed"
        if child.get("records_retried"):
            text += f"; {int(child['records_retried']):,} lock failures retried"
        notes.append(text)
    if first.ideal_seconds:
        overhead = _median(chosen, lambda r: r.wall_seconds) / first.ideal_seconds - 1
        notes.append(f"ideal {first.ideal_seconds:,.1f} s, overhead {overhead:+.1%}")
    return "; ".join(notes)


def _table(
    runs: Sequence[Run], scenarios: Sequence[Scenario], contenders: Mapping[str, Contender]
) -> list[str]:
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for scenario in scenarios:
        names = [c for c in contenders if any(r.scenario == scenario.name and r.contender == c for r in runs)]
        for name in names:
            every = [r for r in runs if r.scenario == scenario.name and r.contender == name]
            chosen = [r for r in every if r.ok]
            if not chosen:
                cells = [scenario.name, name, f"{every[0].records:,}", f"0/{len(every)}"]
                cells += (
                    ["failed"] + [""] * (len(TABLE_COLUMNS) - 6) + [every[0].error[:120].replace("|", "/")]
                )
                lines.append("| " + " | ".join(cells) + " |")
                continue
            http = contenders[name].needs_emulator
            jobs = _median(chosen, lambda r: r.jobs)
            status = _median(chosen, lambda r: r.status_requests / r.jobs if r.jobs else 0.0)
            ratios = _ratios(runs, scenario.name, name)
            ratio_text = ""
            if ratios and name not in (REFERENCE, "split-merge"):
                ratio_text = (
                    f"{statistics.median(ratios):.2f} (" + ", ".join(f"{x:.2f}" for x in ratios) + ")"
                )
            elif name == REFERENCE:
                ratio_text = "1.00"
            cells = [
                scenario.name,
                name,
                f"{chosen[0].records:,}",
                f"{len(chosen)}/{len(every)}",
                f"{_median(chosen, lambda r: r.wall_seconds):.2f}",
                f"{_median(chosen, lambda r: r.records_per_second):,.0f}",
                f"{_median(chosen, lambda r: r.cpu_seconds):.2f}",
                f"{_median(chosen, lambda r: r.peak_rss_mb):.0f}",
                f"{_median(chosen, lambda r: r.requests):.0f}" if http else "-",
                f"{status:.1f}" if http else "-",
                f"{_median(chosen, lambda r: r.batches):.0f}" if http else "-",
                f"{jobs:.0f}",
                ratio_text,
                _notes(chosen),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def targets(runs: Sequence[Run], sf_best: str) -> list[Target]:
    """The goals from the benchmark issue, checked against the medians."""
    found: list[Target] = []

    def wall(scenario: str, contender: str) -> float | None:
        return _med(runs, scenario, contender, lambda r: r.wall_seconds)

    ours, theirs = wall("base", REFERENCE), wall("base", sf_best)
    if ours and theirs:
        # The median of the per-round ratios (as in the table): a slow phase of the shared machine
        # then cancels out within a round instead of landing on one side of a ratio of medians.
        ratios = _ratios(runs, "base", sf_best)
        speedup = statistics.median(ratios) if ratios else theirs / ours
        found.append(
            Target(f"base: asyncbulk >= 1.5x faster than {sf_best}", f"{speedup:.2f}x", speedup >= 1.5)
        )
    else:
        found.append(Target("base: asyncbulk >= 1.5x faster than simple-salesforce's best", "not run", None))

    throttled = _ok(runs, "throttled", REFERENCE)
    if throttled and throttled[0].ideal_seconds:
        ratio = _median(throttled, lambda r: r.wall_seconds) / throttled[0].ideal_seconds
        found.append(
            Target("throttled: asyncbulk wall within 10% of the ideal", f"{ratio - 1:+.1%}", ratio <= 1.10)
        )
        status = _median(throttled, lambda r: r.status_requests / r.jobs if r.jobs else 0.0)
        found.append(Target("throttled: < 5 status requests per job", f"{status:.2f}", status < 5))
    else:
        found.append(Target("throttled: asyncbulk wall within 10% of the ideal", "not run", None))
        found.append(Target("throttled: < 5 status requests per job", "not run", None))

    for label, key, limit in (
        ("client CPU <= 1/3", lambda r: r.cpu_seconds, 1 / 3),
        ("peak RSS <= 1/4", lambda r: r.peak_rss_mb, 1 / 4),
    ):
        mine, peer = _med(runs, "base", REFERENCE, key), _med(runs, "base", sf_best, key)
        if mine is not None and peer:
            found.append(Target(f"base: {label} of {sf_best}'s", f"{mine / peer:.2f}x", mine / peer <= limit))
        else:
            found.append(Target(f"base: {label} of simple-salesforce's", "not run", None))

    small_rss, large_rss = (_med(runs, s, REFERENCE, lambda r: r.peak_rss_mb) for s in ("base", "large"))
    if small_rss and large_rss:
        growth = large_rss / small_rss - 1
        found.append(Target("peak RSS flat: large (5x) within 20% of base", f"{growth:+.1%}", growth <= 0.20))
    else:
        found.append(Target("peak RSS flat: large (5x) within 20% of base", "not run", None))

    split = [r for r in runs if r.contender == "split-merge" and r.ok and r.scenario in ("base", "large")]
    if split:
        # Splitting = finding the chunk boundaries (record ends outside quotes). The structural
        # checks of the bad-input pass are reported beside it: load() runs both in one pass.
        speed = _median(split, lambda r: float(r.child.get("chunk_mb_per_s", 0)))
        checked = _median(split, lambda r: float(r.child.get("validate_mb_per_s", 0)))
        found.append(
            Target(
                "splitting alone >= 500 MB/s",
                f"{speed:,.0f} MB/s (with every structural check: {checked:,.0f} MB/s)",
                speed >= 500,
            )
        )
    else:
        found.append(Target("splitting alone >= 500 MB/s", "not run", None))
    return found


def build(
    runs: Sequence[Run],
    scenarios: Sequence[Scenario],
    contenders: Mapping[str, Contender],
    machine: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> Report:
    """The Markdown report: machine, settings, the table, the targets, the failures."""
    found = targets(runs, str(settings.get("sf_best", "sf-batch10k")))
    versions = ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items())
    lines = [
        "# asyncbulk benchmark results",
        "",
        f"- Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory']} RAM, {machine['os']}",
        f"- Python {machine['python']}; {versions}",
        f"- Date: {machine['date']}; command: `{settings.get('command', '')}`",
        f"- Base size {settings.get('records', 0):,} records, {settings.get('rounds')} rounds, "
        f"TLS {'on' if settings.get('tls') else 'off'}, simple-salesforce wait={settings.get('sf_wait')} s, "
        f"its best variant: {settings.get('sf_best')}",
        "- Medians over the rounds. Wall time is the client process from start to exit (interpreter "
        "start and imports included); CPU is its user+system time; Peak RSS its VmHWM; requests, "
        "batches and jobs are the emulator's counters for that run.",
        "",
        "## Scenarios",
        "",
    ]
    lines += [f"- `{s.name}`: {s.description}" for s in scenarios]
    lines += ["", "## Contenders", ""]
    used = {r.contender for r in runs}
    lines += [f"- `{c.name}`: {c.description}" for c in contenders.values() if c.name in used]
    lines += ["", "## Results", ""]
    lines += _table(runs, scenarios, contenders)
    lines += ["", "## Targets", "", "| Target | Measured | Verdict |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.measured} | {t.verdict} |" for t in found]
    failures = [r for r in runs if not r.ok]
    if failures:
        lines += ["", "## Failed runs", ""]
        lines += [f"- {r.scenario} / {r.contender} round {r.round}: {r.error}" for r in failures]
    return Report("\n".join(lines) + "\n", tuple(found))


def chart(runs: Sequence[Run], scenarios: Sequence[Scenario], path: Path) -> Path | None:
    """Records/s and peak RSS by contender and scenario, as grouped bars; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [s.name for s in scenarios if any(r.scenario == s.name and r.ok for r in runs)]
    contenders = sorted({r.contender for r in runs if r.ok and r.contender != "split-merge"}, key=_order)
    if not names or not contenders:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    width = 0.8 / len(contenders)
    for panel, (title, key) in zip(
        axes,
        (
            ("Records per second", lambda r: r.records_per_second),
            ("Peak RSS of the client (MB)", lambda r: r.peak_rss_mb),
        ),
        strict=True,
    ):
        for i, contender in enumerate(contenders):
            values = [_med(runs, s, contender, key) or 0.0 for s in names]
            xs = [x + i * width - 0.4 + width / 2 for x in range(len(names))]
            panel.bar(xs, values, width, label=contender)
        panel.set_xticks(range(len(names)), [f"{n}\n{_records(runs, n):,} rec" for n in names])
        panel.set_title(title)
        panel.grid(axis="y", alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _records(runs: Sequence[Run], scenario: str) -> int:
    return next((r.records for r in runs if r.scenario == scenario), 0)


def _order(name: str) -> tuple[int, str]:
    return (0 if name.startswith("asyncbulk") else 1, name)

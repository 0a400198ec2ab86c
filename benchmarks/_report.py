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
    elif child.get("pages") is not None:
        notes.append(f"{int(child.get('records', 0)):,} rows in {int(child['pages']):,} pages")
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


def _rounds_ratio(runs: Sequence[Run], scenario: str, contender: str) -> float | None:
    """The median of the per-round ratios of ``contender``'s wall time over asyncbulk's.

    A slow phase of the shared machine then cancels out within a round instead of landing on one
    side of a ratio of medians.
    """
    ratios = _ratios(runs, scenario, contender)
    if ratios:
        return statistics.median(ratios)
    ours, theirs = (_med(runs, scenario, c, lambda r: r.wall_seconds) for c in (REFERENCE, contender))
    return theirs / ours if ours and theirs else None


def _size(runs: Sequence[Run], scenario: str) -> str:
    return f"{_records(runs, scenario):,} rows"


def _paced(runs: Sequence[Run], scenario: str, limit: float) -> Target:
    chosen = _ok(runs, scenario, REFERENCE)
    label = f"{scenario}: asyncbulk wall within {limit:.0%} of the ideal"
    if not chosen or not chosen[0].ideal_seconds:
        return Target(label, "not run", None)
    ideal = chosen[0].ideal_seconds
    overhead = _median(chosen, lambda r: r.wall_seconds) / ideal - 1
    status = _median(chosen, lambda r: r.status_requests / r.jobs if r.jobs else 0.0)
    return Target(
        f"{label} ({_size(runs, scenario)})",
        f"{overhead:+.1%} (ideal {ideal:,.1f} s; {status:.2f} status req/job)",
        overhead <= limit,
    )


def targets(runs: Sequence[Run], sf_best: str) -> list[Target]:
    """The goals of the performance issue (13), checked against the medians."""
    found = [_paced(runs, "throttled", 0.03), _paced(runs, "throttled-small", 0.08)]

    realistic = _ok(runs, "realistic", REFERENCE)
    label = "realistic: overhead over its ideal (reported); < 3 status requests per job"
    if realistic and realistic[0].ideal_seconds:
        overhead = _median(realistic, lambda r: r.wall_seconds) / realistic[0].ideal_seconds - 1
        status = _median(realistic, lambda r: r.status_requests / r.jobs if r.jobs else 0.0)
        found.append(
            Target(
                label,
                f"overhead {overhead:+.1%} (ideal {realistic[0].ideal_seconds:,.1f} s); {status:.2f} req/job",
                status < 3,
            )
        )
    else:
        found.append(Target(label, "not run", None))

    speedup = _rounds_ratio(runs, "base", sf_best)
    label = f"base: asyncbulk >= 2x faster than {sf_best}"
    if speedup is not None:
        found.append(Target(f"{label} ({_size(runs, 'base')})", f"{speedup:.2f}x", speedup >= 2))
    else:
        found.append(Target(label, "not run", None))

    mine, peer = (_med(runs, "base", c, lambda r: r.cpu_seconds) for c in (REFERENCE, sf_best))
    label = f"base: client CPU <= 1/2 of {sf_best}'s"
    if mine is not None and peer:
        found.append(
            Target(label, f"{mine / peer:.2f}x ({mine:.1f} s against {peer:.1f} s)", mine / peer <= 0.5)
        )
    else:
        found.append(Target(label, "not run", None))

    split = _ok(runs, "base", "split-merge") or [r for r in runs if r.contender == "split-merge" and r.ok]
    for label, key, limit, unit in (
        ("split-merge: validation pass >= 600 MB/s", "validate_mb_per_s", 600, "MB/s"),
        ("split-merge: merge >= 500,000 records/s", "merge_records_per_s", 500_000, "records/s"),
    ):
        if split:
            speed = statistics.median(float(r.child.get(key, 0)) for r in split)
            found.append(Target(label, f"{speed:,.0f} {unit}", speed >= limit))
        else:
            found.append(Target(label, "not run", None))

    base_rss = _med(runs, "base", REFERENCE, lambda r: r.peak_rss_mb)
    label = "base: asyncbulk peak RSS <= 64 MB"
    if base_rss is not None:
        found.append(Target(f"{label} ({_size(runs, 'base')})", f"{base_rss:.0f} MB", base_rss <= 64))
    else:
        found.append(Target(label, "not run", None))
    for scenario, times in (("large", 5), ("huge", 10)):
        big = _med(runs, scenario, REFERENCE, lambda r: r.peak_rss_mb)
        label = f"peak RSS flat: {scenario} ({times}x) within 20% of base"
        if base_rss and big:
            growth = big / base_rss - 1
            found.append(Target(label, f"{big:.0f} MB, {growth:+.1%}", growth <= 0.20))
        else:
            found.append(Target(label, "not run", None))

    found += _extract_targets(runs)
    return found


def _extract_targets(runs: Sequence[Run]) -> list[Target]:
    found: list[Target] = []
    peer = "sf-download"
    ratio = _rounds_ratio(runs, "extract", peer)
    label = f"extract: asyncbulk wall <= {peer}'s"
    if ratio is not None:
        found.append(Target(f"{label} ({_size(runs, 'extract')})", f"{peer} takes {ratio:.2f}x", ratio >= 1))
    else:
        found.append(Target(label, "not run", None))
    mine, theirs = (_med(runs, "extract", c, lambda r: r.peak_rss_mb) for c in (REFERENCE, peer))
    label = f"extract: asyncbulk peak RSS <= {peer}'s"
    if mine is not None and theirs:
        found.append(Target(label, f"{mine:.0f} MB against {theirs:.0f} MB", mine <= theirs))
    else:
        found.append(Target(label, "not run", None))
    large = _med(runs, "extract-large", REFERENCE, lambda r: r.peak_rss_mb)
    label = "extract: peak RSS flat: extract-large (5x) within 20% of extract"
    if mine and large:
        growth = large / mine - 1
        found.append(Target(label, f"{large:.0f} MB, {growth:+.1%}", growth <= 0.20))
    else:
        found.append(Target(label, "not run", None))
    mine_req, their_req = (_med(runs, "extract", c, lambda r: r.requests) for c in (REFERENCE, peer))
    label = f"extract: API requests <= {peer}'s"
    if mine_req is not None and their_req is not None:
        found.append(Target(label, f"{mine_req:.0f} against {their_req:.0f}", mine_req <= their_req))
    else:
        found.append(Target(label, "not run", None))
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
    skipped = settings.get("skipped") or {}
    if skipped:
        lines += ["", "## Skipped contenders", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in skipped.items()]
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

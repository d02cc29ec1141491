"""Human-readable run summary: counts, then a compact leaderboard of the run's main scores.

Every score is in ``--json`` and in the report; the terminal shows the headline subsets only
(those without a "/" in their name) as a methods x subsets table, best first.
"""

from __future__ import annotations

from collections import defaultdict

from benchmark.results import ScoreRecord


def _fmt(s: ScoreRecord) -> str:
    ci = f" [{s.ci_low:.2f},{s.ci_high:.2f}]" if s.has_interval() else ""
    return f"{s.value:.3f}{ci}"


def _rank_key(spec, best: float) -> float:
    """Best first: by value in the metric's declared direction (diagnostics keep the value order)."""
    return best if spec.higher_is_better is False else -best


SHOWN_FAILURES = 5  # failed items listed in the terminal; --json lists them all


def _short(text: object, width: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def print_failures(failures: list[dict], shown: int = SHOWN_FAILURES) -> None:
    """The first failed items with their error; how to retry them."""
    if not failures:
        return
    from db import MAX_ATTEMPTS

    print(f"  {len(failures)} failed:")
    for f in failures[:shown]:
        print(
            f"    {_short(f['prompt'])!r} image {f['image_index']} (attempt {f['attempts']}/{MAX_ATTEMPTS}): {_short(f['error'], 100)}"
        )
    if len(failures) > shown:
        print(f"    ... and {len(failures) - shown} more (--json lists them all)")
    retry = sum(f["attempts"] < MAX_ATTEMPTS for f in failures)
    if retry:
        print(f"  run the same command again to retry {retry} of them (each up to {MAX_ATTEMPTS} attempts)")


def print_summary(summary) -> None:
    print(f"run {summary.run}: split {summary.split}, model {summary.model}")
    print(
        f"  prompts {summary.prompts}, images {summary.done}/{summary.generations} done"
        f" ({summary.generated_now} now, {summary.failed} failed, {summary.pending} pending) in {summary.seconds:.1f} s"
    )
    for note in summary.notes:
        print(f"  note: {note}")
    print_failures(getattr(summary, "failures", []))
    by_metric: dict[str, list[ScoreRecord]] = defaultdict(list)
    for s in summary.scores:
        if s.headline:
            by_metric[s.metric].append(s)
    for metric, scores in sorted(by_metric.items()):
        spec = scores[0].metric_spec
        subsets = sorted({s.subset for s in scores})
        table: dict[str, dict[str, ScoreRecord]] = defaultdict(dict)
        for s in scores:
            table[s.method][s.subset] = s
        pick = min if spec.higher_is_better is False else max
        methods = sorted(table, key=lambda m: _rank_key(spec, pick(v.value for v in table[m].values())))
        width = max(len(m) for m in methods + ["method"])
        cells = {m: {sub: _fmt(table[m][sub]) if sub in table[m] else "-" for sub in subsets} for m in methods}
        col = {sub: max([len(sub)] + [len(cells[m][sub]) for m in methods]) for sub in subsets}
        n = {sub: max((table[m][sub].n or 0) for m in methods if sub in table[m]) for sub in subsets}
        direction = {True: "higher is better", False: "lower is better", None: "no better direction"}[
            spec.higher_is_better
        ]
        print(f"\n  {metric} ({direction})")
        print("  " + "method".ljust(width) + "  " + "  ".join(sub.ljust(col[sub]) for sub in subsets))
        for m in methods:
            print("  " + m.ljust(width) + "  " + "  ".join(cells[m][sub].ljust(col[sub]) for sub in subsets))
        print("  " + "n".ljust(width) + "  " + "  ".join(str(n[sub]).ljust(col[sub]) for sub in subsets))

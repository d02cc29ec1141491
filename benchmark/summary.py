"""Human-readable run summary: counts, then a leaderboard table of the run's scores."""
from __future__ import annotations


def print_summary(summary) -> None:
    print(f"run {summary.run}: split {summary.split}, model {summary.model}")
    print(f"  prompts {summary.prompts}, images {summary.done}/{summary.generations} done"
          f" ({summary.generated_now} now, {summary.failed} failed, {summary.pending} pending) in {summary.seconds:.1f} s")
    for note in summary.notes:
        print(f"  note: {note}")
    if not summary.scores:
        return
    rows = [(s["method"], s["metric"], s["subset"], s["value"], s.get("ci_low"), s.get("ci_high"), s.get("n"))
            for s in summary.scores]
    rows.sort(key=lambda r: (r[1], r[2], -(r[3] if r[3] == r[3] else -1)))
    w = [max(len(str(r[i])) for r in rows + [("method", "metric", "subset")]) for i in range(3)]
    print("\n  " + "  ".join(h.ljust(x) for h, x in zip(("method", "metric", "subset"), w)) + "   value  95% CI          n")
    for m, metric, subset, v, lo, hi, n in rows:
        ci = f"[{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
        print(f"  {m.ljust(w[0])}  {metric.ljust(w[1])}  {subset.ljust(w[2])}  {v:6.3f}  {ci:14s}  {n if n is not None else ''}")

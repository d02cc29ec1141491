"""Store queries more than one package needs: which stored annotations count.

The rule (paper 3.2, A.2): only the newest version of each annotation counts, one per (task,
rater), and excluded raters never do; order is the raters' submission order. The scorers and
``bench annotate status`` both read it here, so they count the same annotations.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .records import Annotation

if TYPE_CHECKING:
    from .store import Store


def current_annotations(
    store: Store, study: str, run_name: str, *, valid_only: bool = True, include_excluded: bool = False
) -> list[Annotation]:
    """The newest version of each annotation of a run's generations, one per (task, rater).

    A rater who annotated a task twice counts once, with the later annotation.
    """
    run = store.get_run(run_name)
    generations = {g.id for g in store.generations(run.id)}
    raters = {r.id: r for r in store.raters()}
    newest: dict[str, Annotation] = {}
    for a in store.annotations(study):
        if a.generation_id in generations and (
            a.external_id not in newest or a.version > newest[a.external_id].version
        ):
            newest[a.external_id] = a
    per_rater: dict[tuple[int, int], Annotation] = {}
    for a in sorted(newest.values(), key=submission_order):
        if valid_only and not a.valid:
            continue
        if not include_excluded and raters[a.rater_id].excluded:
            continue
        per_rater[(a.generation_id, a.rater_id)] = a
    return sorted(per_rater.values(), key=submission_order)


def submission_order(annotation: Annotation) -> tuple[float, int]:
    """When the rater first submitted (Label Studio's created_at, then its id); edits keep it."""
    raw = annotation.raw if isinstance(annotation.raw, dict) else {}
    exported = raw.get("annotation") if isinstance(raw.get("annotation"), dict) else {}
    try:
        when = datetime.fromisoformat(str(exported.get("created_at"))).timestamp()
    except ValueError:
        when = float("inf")  # unknown time: after every known one, then by id
    ident = exported.get("id")
    return (when, ident if isinstance(ident, int) else annotation.id)

"""Progress of each study: judgements done against judgements needed, and agreement so far."""

from __future__ import annotations

from dataclasses import dataclass

import db
from annotation.agreement import Agreement, mask_agreement, presence_agreement, rating_agreement
from annotation.interface import STUDIES
from annotation.judgements import current_annotations
from annotation.studies import build_tasks
from annotation.workspace import Workspace


@dataclass(frozen=True)
class StudyStatus:
    study: str
    run: str
    items: int
    needed: int  # items x raters
    done: int  # (item, rater) pairs with a current valid annotation, at most `raters` per item
    invalid: int  # current annotations kept out for problems
    excluded_raters: tuple[str, ...]
    agreement: Agreement

    def line(self) -> str:
        share = f"{100 * self.done / self.needed:.0f}%" if self.needed else "-"
        text = (
            f"{self.study:<13} {self.run:<24} {self.done:>5} / {self.needed:<5} ({share:>4})  "
            f"invalid {self.invalid:<3} {self.agreement}"
        )
        if self.excluded_raters:
            text += f"\n{'':<13} excluded raters: {', '.join(self.excluded_raters)}"
        return text


def study_status(store: db.Store, study: str, run: str, workspace: Workspace, raters: int = 3) -> StudyStatus:
    tasks = build_tasks(store, study, run, workspace).tasks
    per_item: dict[int, int] = {}
    for a in current_annotations(store, study, run):
        per_item[a.generation_id] = per_item.get(a.generation_id, 0) + 1
    item_ids = {t.generation_id for t in tasks}
    done = sum(min(n, raters) for g, n in per_item.items() if g in item_ids)
    every = current_annotations(store, study, run, valid_only=False, include_excluded=True)
    invalid = sum(1 for a in every if not a.valid)
    rater_ids = {a.rater_id for a in every}
    excluded = tuple(r.name for r in store.raters() if r.excluded and r.id in rater_ids)
    if study == "rating":
        agreement = rating_agreement(store, run)
    elif study == "presence":
        agreement = presence_agreement(store, run, workspace)
    else:
        agreement = mask_agreement(store, run)
    return StudyStatus(study, run, len(tasks), len(tasks) * raters, done, invalid, excluded, agreement)


def all_status(
    store: db.Store,
    workspace: Workspace,
    *,
    study: str | None = None,
    run: str | None = None,
    raters: int | None = None,
) -> list[StudyStatus]:
    """Status of the (study, run) pairs pushed from this workspace or holding annotations.

    ``raters`` defaults to what the push asked for (else 3).
    """
    pairs: dict[tuple[str, str], int] = {}
    for record in workspace.pushes():
        pairs[(record["study"], record["run"])] = int(record.get("raters") or 3)
    runs = {r.id: r.name for r in store.runs()}
    generation_runs: dict[int, str] = {}
    for s in STUDIES:
        for a in store.annotations(s):
            if a.generation_id is None:
                continue
            if a.generation_id not in generation_runs:
                generation_runs[a.generation_id] = runs[store.get_generation(a.generation_id).run_id]
            pairs.setdefault((s, generation_runs[a.generation_id]), 3)
    if study and run:
        pairs.setdefault((study, run), 3)
    chosen = sorted(
        (k, v)
        for k, v in pairs.items()
        if (study is None or k[0] == study) and (run is None or k[1] == run) and k[1] in runs.values()
    )
    return [study_status(store, s, r, workspace, raters or wanted) for (s, r), wanted in chosen]

"""Allowed values of the enum-like string columns, checked by the store on write."""

from __future__ import annotations

MODEL_KINDS_EXAMPLES = ("diffusion", "baseline")  # free text; these are the usual ones
RUN_STATUSES = ("created", "running", "done", "failed")
GENERATION_STATUSES = ("pending", "claimed", "done", "failed")
MASK_SOURCES = ("human", "automatic", "baseline", "daam", "dataset")  # dataset: a real image's own truth
RATER_KINDS = ("human", "automatic", "dataset")
# Study names are not listed here: the split specs' studies.yaml and annotation's task kinds name
# them; the store checks only that a study is a plain lowercase name (db.checks.study_name).

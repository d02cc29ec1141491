"""Allowed values of the enum-like string columns, checked by the store on write."""

from __future__ import annotations

MODEL_KINDS_EXAMPLES = ("diffusion", "baseline")  # free text; these are the usual ones
RUN_STATUSES = ("created", "running", "done", "failed")
GENERATION_STATUSES = ("pending", "claimed", "done", "failed")
MASK_SOURCES = ("human", "automatic", "baseline", "daam")
RATER_KINDS = ("human", "automatic")
# annotation studies (segmentation, rating, presence) and scoring studies (the split catalogue's)
STUDIES = ("segmentation", "rating", "presence", "shapes", "syntax", "cohyponym", "adjective")

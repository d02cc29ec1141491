"""Krippendorff's alpha: the one computation behind the stored agreement scores and
``bench annotate status``.

Input is a raters x units array, NaN where a rater did not judge a unit. Units judged by fewer
than two raters carry no pairable values and are ignored, as alpha defines. The value domain is
the values observed (the ``krippendorff`` package's default): a scale's unused values change
nothing for nominal, ordinal or interval alpha, so "1..5" and "what raters used" give one number.

Too few data is one rule for every caller: alpha is undefined when there are fewer than two
raters, when no unit has two raters, or when every pairable judgement is the same value (0/0).
``krippendorff_alpha`` raises ``AlphaUndefined`` (a ValueError) then; ``alpha_agreement`` returns
an ``Agreement`` whose value is None and whose note is that error's message. Malformed input
(not 2-D, an unknown level) is a plain ValueError from both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

KrippendorffLevel = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval", "ratio")


class AlphaUndefined(ValueError):
    """Too few raters, pairable units or distinct values for alpha to be defined."""


@dataclass(frozen=True)
class Agreement:
    """An agreement value for display: None (with a note saying why) when undefined."""

    measure: str  # "krippendorff alpha (ordinal)", "mean pairwise IoU", ...
    value: float | None
    n_units: int  # units judged by two or more raters (items, item-noun pairs, mask pairs)
    note: str = ""

    def __str__(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:.3f}"
        note = f" ({self.note})" if self.note else ""
        return f"{self.measure} = {shown} over {self.n_units} units{note}"


def _as_matrix(reliability_data: Sequence[Sequence[float]] | np.ndarray, level: str) -> np.ndarray:
    if level not in LEVELS:
        raise ValueError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"reliability_data must be 2-D (raters x units), got shape {data.shape}")
    return data


def pairable_units(reliability_data: Sequence[Sequence[float]] | np.ndarray) -> int:
    """How many units two or more raters judged (the n alpha is computed over)."""
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2 or data.size == 0:
        return 0
    return int(((~np.isnan(data)).sum(axis=0) >= 2).sum())


def krippendorff_alpha(
    reliability_data: Sequence[Sequence[float]] | np.ndarray, level: KrippendorffLevel = "ordinal"
) -> float:
    """Krippendorff's alpha (``krippendorff`` package) of a raters x units array, NaN = missing.

    Use ``"ordinal"`` for Likert ratings and ``"nominal"`` for presence judgements. Raises
    ``AlphaUndefined`` where alpha is undefined (see the module docstring).
    """
    import krippendorff

    data = _as_matrix(reliability_data, level)
    if data.shape[0] < 2:
        raise AlphaUndefined(f"need at least two raters (rows), got {data.shape[0]}")
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if not pairable.any():
        raise AlphaUndefined("no unit is rated by two or more raters: alpha is undefined")
    values = np.unique(data[:, pairable][~np.isnan(data[:, pairable])])
    if len(values) < 2:
        raise AlphaUndefined(f"all pairable ratings equal {values[0]!r}: alpha is undefined (no variation)")
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


def alpha_agreement(
    reliability_data: Sequence[Sequence[float]] | np.ndarray, level: KrippendorffLevel, measure: str | None = None
) -> Agreement:
    """``krippendorff_alpha`` as an ``Agreement``: value None, with the reason, where undefined."""
    name = measure or f"krippendorff alpha ({level})"
    data = _as_matrix(reliability_data, level)
    n_units = pairable_units(data)
    try:
        return Agreement(name, krippendorff_alpha(data, level), n_units)
    except AlphaUndefined as exc:
        return Agreement(name, None, n_units, str(exc))

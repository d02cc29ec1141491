"""`bench annotate status` and the stored agreement score compute one alpha (core.agreement)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from annotation.agreement import presence_agreement, rating_agreement
from annotation.workspace import Workspace
from benchmark.scorers.cohyponym import score_cohyponym
from benchmark.scorers.rating import score_rating
from core.agreement import AlphaUndefined, alpha_agreement, krippendorff_alpha
from tests.scorers.test_cohyponym import PICKS, _judge, cohyponym_run  # noqa: F401  (fixture)
from tests.scorers.test_rating import rating_run  # noqa: F401  (fixture)


def test_rating_status_and_stored_score_agree(bench, rating_run):  # noqa: F811
    score_rating(bench.store, bench.workspace, rating_run)
    stored = bench.scores(rating_run)[("human", "krippendorff-alpha", "all")]
    shown = rating_agreement(bench.store, rating_run.name)
    assert shown.value is not None and math.isclose(shown.value, stored.value) and shown.n_units == stored.n


def test_presence_status_and_stored_score_agree(bench, cohyponym_run):  # noqa: F811
    run, generations = cohyponym_run
    _judge(bench, generations, PICKS)
    score_cohyponym(bench.store, bench.workspace, run)
    stored = bench.scores(run)[("human", "krippendorff-alpha", "presence")]
    shown = presence_agreement(bench.store, run.name, Workspace(bench.workspace))
    assert shown.value is not None and math.isclose(shown.value, stored.value) and shown.n_units == stored.n


@pytest.mark.parametrize(
    "matrix",
    [
        [[1.0, 2.0, 3.0]],  # one rater
        [[1.0, np.nan], [np.nan, 2.0]],  # no unit with two raters
        [[3.0, 3.0], [3.0, 3.0]],  # no variation
    ],
)
def test_too_few_data_is_one_rule(matrix):
    with pytest.raises(AlphaUndefined) as raised:
        krippendorff_alpha(matrix, "ordinal")
    shown = alpha_agreement(matrix, "ordinal")
    assert shown.value is None and shown.note == str(raised.value)
    assert "n/a" in str(shown)


def test_the_value_domain_is_what_raters_used():
    import krippendorff

    matrix = np.array([[2, 3, 3, 4, np.nan], [2, 3, 4, 4, 3], [3, 3, np.nan, 4, 2]], dtype=float)
    for level in ("nominal", "ordinal", "interval"):
        with_scale = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5]
        )
        assert krippendorff_alpha(matrix, level) == pytest.approx(with_scale)

"""Every benchmark metric with its declared aggregation, registered in ``METRICS`` by name.

Importing this module registers the metrics; the functions behind them load only on
``MetricInfo.resolve()``. Score rows store these names in their ``metric`` column.
"""

from __future__ import annotations

from benchmark.metrics.info import MetricInfo
from core.registry import METRICS

_M = "benchmark.metrics"
CATALOG: tuple[MetricInfo, ...] = (
    MetricInfo(
        "IoU",
        "intersection over union of one pair of binary maps",
        "none (one pair); NaN when both maps are empty",
        True,
        f"{_M}.overlap:iou",
        "3.1; appendix B eqn. 8",
    ),
    MetricInfo(
        "mIoU",
        "mean IoU over pairs of binary maps: a segmentation score against truth masks (higher is "
        "better); in the syntax (4) and cohyponym (5.1) studies, the overlap of two words' maps (a diagnostic)",
        "mean over pairs, pairs with both maps empty excluded; bootstrap 95% CI",
        True,
        f"{_M}.segmentation:mean_iou",
        "3.1, 4, 5.1; appendix B eqn. 8",
        sections={"shapes": "shapes", "syntax": "syntax", "cohyponym": "cohyponym"},
    ),
    MetricInfo(
        "mIoU-all",
        "mIoU of noun segmentation over every noun (no class restriction)",
        "mean over (prediction, truth) pairs, both-empty pairs excluded; bootstrap 95% CI",
        True,
        f"{_M}.segmentation:miou_by_subset",
        "3.1, table 1",
        sections={"segmentation": "segmentation", "real-image": "real-image"},
    ),
    MetricInfo(
        "mIoU80",
        "mIoU of noun segmentation over nouns naming one of COCO's 80 classes",
        "mean over (prediction, truth) pairs whose noun is a COCO class, both-empty pairs excluded; bootstrap 95% CI",
        True,
        f"{_M}.segmentation:miou_by_subset",
        "3.1, table 1",
        sections={"segmentation": "segmentation", "real-image": "real-image"},
    ),
    MetricInfo(
        "mIoU-sweep",
        "mIoU of soft maps binarised at each tau of a grid (DAAM-<tau>)",
        "per tau: mean over pairs, both-empty pairs excluded; bootstrap 95% CI per tau",
        True,
        f"{_M}.segmentation:tau_sweep",
        "3.1, table 1 (tau 0.3 / 0.4 / 0.5)",
        sections={"*": "tau-sweep"},
    ),
    MetricInfo(
        "MOS",
        "mean opinion score of heat maps on the 1-5 Likert scale, per part-of-speech tag",
        "median over raters per item (excluded raters and too-abstract items dropped), then mean over items; "
        "bootstrap 95% CI over items",
        True,
        f"{_M}.attribution:mos_by_tag",
        "3.2, figure 3 (top)",
        (1.0, 5.0),
        sections={"rating": "rating"},
    ),
    MetricInfo(
        "share-fair-or-better",
        "share of ratings fair, good or excellent (>= 3), per part-of-speech tag",
        "ratings >= fair over all ratings, pooled over items; cluster bootstrap 95% CI over items",
        True,
        f"{_M}.attribution:mos_by_tag",
        "3.2, figure 3 (bottom)",
        sections={"rating": "rating"},
    ),
    MetricInfo(
        "mIoD",
        "intersection over the dependent's map, per dependency relation",
        "mean over head-dependent pairs with a non-empty dependent map; bootstrap 95% CI",
        None,
        f"{_M}.syntax:syntax_table",
        "4, table 2; appendix B eqn. 9",
        sections={"syntax": "syntax"},
    ),
    MetricInfo(
        "mIoH",
        "intersection over the head's map, per dependency relation",
        "mean over head-dependent pairs with a non-empty head map; bootstrap 95% CI",
        None,
        f"{_M}.syntax:syntax_table",
        "4, table 2; appendix B eqn. 10",
        sections={"syntax": "syntax"},
    ),
    MetricInfo(
        "mIoD-mIoH",
        "dominance: positive when the head's map contains the dependent's",
        "mean of (IoD - IoH) over pairs where both are defined; bootstrap 95% CI",
        None,
        f"{_M}.syntax:syntax_table",
        "4, table 2 (delta)",
        (-1.0, 1.0),
        sections={"syntax": "syntax"},
    ),
    MetricInfo(
        "generation-accuracy",
        "share of two-noun prompts whose image shows both nouns",
        "mean over prompts, per cohyponymy group or overlap bucket; Wilson 95% CI",
        True,
        f"{_M}.cohyponyms:generation_accuracy",
        "5.1, figure 6",
        sections={"cohyponym": "cohyponym", "*": "generation-accuracy"},
    ),
    MetricInfo(
        "fisher-p",
        "two-sided p of Fisher's exact test, cohyponymy x correctness (odds ratio beside it)",
        "one test over the 2x2 table of all prompts",
        None,
        f"{_M}.cohyponyms:generation_accuracy",
        "5.1",
        sections={"cohyponym": "cohyponym"},
    ),
    MetricInfo(
        "colour-spill",
        "share of background pixels whose target-hue weight rose by more than a threshold",
        "mean over background pixels of one (seed, variant) image pair, then mean over pairs",
        None,
        f"{_M}.adjectives:colour_spill",
        "5.2, figure 9",
        sections={"adjective": "adjective"},
    ),
    MetricInfo(
        "colour-gain",
        "mean change of target-hue weight (chroma x hue closeness) over background pixels",
        "mean over background pixels of one image pair, then mean over pairs",
        None,
        f"{_M}.adjectives:colour_spill",
        "5.2, figure 9",
        (-1.0, 1.0),
    ),
    MetricInfo(
        "attribute-spill",
        "mean absolute pixel change in the background over that in the object",
        "ratio of means over pixels of one image pair, then mean over pairs",
        None,
        f"{_M}.adjectives:attribute_spill",
        "5.2, figure 8",
        (0.0, float("inf")),
        sections={"adjective": "adjective"},
    ),
    MetricInfo(
        "krippendorff-alpha",
        "inter-rater agreement (ordinal for ratings, nominal for presence)",
        "over all units rated by two or more raters",
        True,
        "benchmark.stats:krippendorff_alpha",
        "3.2, 5.1 (annotation quality)",
        (-1.0, 1.0),
    ),
    MetricInfo(
        "ablation",
        "mIoU of DAAM-tau when only some time steps, layer resolutions or layers are summed; the value "
        "is the mIoU with everything summed, the curve is in the score's details",
        "per point of the curve: mean over (word, image) pairs, both-empty pairs excluded",
        True,
        f"{_M}.ablation:ablation_scores",
        "appendix A.1, figure 11",
        sections={"*": "ablation"},
    ),
)

for _info in CATALOG:
    METRICS.register(_info.name, _info)


def metric_spec(name: str) -> MetricInfo:
    """A metric's declaration; an unknown name gets the registry's "did you mean"."""
    return METRICS.get(name)

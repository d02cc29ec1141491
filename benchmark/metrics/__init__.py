"""The benchmark's metrics: pure functions first, small accumulators on top.

Each metric declares its aggregation and direction in ``catalog.CATALOG`` (registered in
``core.registry.METRICS``); statistics (intervals, tests, agreement) live in
``benchmark.stats``.
"""
from benchmark.metrics import catalog  # noqa: F401  (registers the metrics)
from benchmark.metrics.adjectives import (
    COLOUR_HUES, AttributeSpill, ColourSpill, attribute_spill, background_region, colour_hue, colour_spill, hue_weight,
)
from benchmark.metrics.attribution import (
    LIKERT, ItemScore, LikertRating, TagSummary, attention_failures, item_scores, mos_by_tag,
)
from benchmark.metrics.cohyponyms import (
    CohyponymAccuracy, accuracy_by_overlap, consensus_objects, contingency_table, generation_accuracy,
    generation_correct, miou_by_group, overlap_bucket,
)
from benchmark.metrics.info import MetricInfo
from benchmark.metrics.masks import as_mask, as_soft, binarize, resize_labels, resize_mask, resize_soft
from benchmark.metrics.matching import hungarian_match, iou_matrix, match_clusters
from benchmark.metrics.overlap import PairOverlap, iod, ioh, iou, pair_overlap
from benchmark.metrics.segmentation import (
    MIOU80, MIOU_ALL, PAPER_TAUS, SWEEP_TAUS, MeanIoU, TauCurve, TauSweep, coco_flags, iou_by_tau, mean_iou,
    miou_by_subset, tau_curve, tau_sweep,
)
from benchmark.metrics.syntax import (
    ALL_ARCS, UNRELATED, Arc, OverlapAccumulator, ParsedMaps, RelationOverlap, arc_pairs, relation_overlap,
    summarise_overlaps, syntax_table, unrelated_pairs,
)
from core.coco import COCO80, is_coco_class

__all__ = [
    "ALL_ARCS", "COCO80", "COLOUR_HUES", "LIKERT", "MIOU80", "MIOU_ALL", "PAPER_TAUS", "SWEEP_TAUS", "UNRELATED",
    "Arc", "AttributeSpill", "CohyponymAccuracy", "ColourSpill", "ItemScore", "LikertRating", "MeanIoU",
    "MetricInfo", "OverlapAccumulator", "PairOverlap", "ParsedMaps", "RelationOverlap", "TagSummary", "TauCurve",
    "TauSweep", "accuracy_by_overlap", "arc_pairs", "as_mask", "as_soft", "attention_failures", "attribute_spill",
    "background_region", "binarize", "coco_flags", "colour_hue", "colour_spill", "consensus_objects",
    "contingency_table",
    "generation_accuracy", "generation_correct", "hue_weight", "hungarian_match", "iod", "ioh", "iou",
    "iou_by_tau", "iou_matrix", "is_coco_class", "item_scores", "match_clusters", "mean_iou", "miou_by_group",
    "miou_by_subset", "mos_by_tag", "overlap_bucket", "pair_overlap", "relation_overlap", "resize_mask",
    "resize_labels", "resize_soft", "summarise_overlaps", "syntax_table", "tau_curve", "tau_sweep", "unrelated_pairs",
]

"""Baselines: every segmentation method under one protocol (image + prompt + words -> maps).

Methods are registered lazily in ``core.registry.BASELINES`` so that importing this package
loads no model; ``load_baseline(name, **options)`` builds one. Options are the method's
constructor arguments: ``model`` (hub id or local folder), ``device``, ``dtype``, and per method
e.g. ``checkpoint`` (STEGO), ``mode`` (Mask2Former), ``radius`` (centre disc), ``maps`` (DAAM,
DAAM + vocabulary).
"""

from __future__ import annotations

import inspect
from typing import Any

from baselines.io import load_output, save_output
from baselines.protocol import Baseline, BaselineError, BaselineOutput
from core.registry import BASELINES

_ENTRIES = {
    "whole-image": "baselines.trivial:WholeImage",
    "centre-disc": "baselines.trivial:CentreDisc",
    "random": "baselines.trivial:UniformRandom",
    "clipseg": "baselines.clipseg:CLIPSegBaseline",
    "mask2former": "baselines.mask2former:Mask2FormerBaseline",
    "stego": "baselines.stego:StegoBaseline",
    "daam": "baselines.daam_method:DAAMBaseline",
    "daam-vocabulary": "baselines.daam_vocabulary:DAAMVocabularyBaseline",
    "conceptattention": "baselines.concept_attention:ConceptAttentionBaseline",
    "conceptattention-cross": "baselines.concept_attention:ConceptAttentionCrossBaseline",
}
for _name, _target in _ENTRIES.items():
    if _name not in BASELINES:
        BASELINES.register(_name, _target)


def load_baseline(name: str, **options: Any) -> Baseline:
    """The baseline registered as ``name``, built with ``options``; unknown names and options are errors."""
    cls = BASELINES.get(name)  # UnknownNameError with "did you mean" for typos
    params = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            raise BaselineError(
                f"baseline {name!r} takes no option {', '.join(map(repr, unknown))}; "
                f"its options: {', '.join(params) or 'none'}"
            )
    return cls(**options)


__all__ = ["Baseline", "BaselineError", "BaselineOutput", "load_baseline", "load_output", "save_output"]

"""Names a reader understands for figure lines and bars, built from the stored names.

A line's label is made of parts (run, study, method, subset, what the curve means); the parts
every line of a figure shares move into the figure's title, so a legend names only what differs:
"first j steps only" and "last j steps only" instead of two 80-character paths.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Stored method names as the paper and the methods' own papers write them
METHOD_NAMES = {
    "daam": "DAAM",
    "vocab": "OVAM",  # open-vocabulary maps (daam vocabulary=), after Marcos-Manchon et al. 2024
    "clipseg": "CLIPSeg",
    "stego": "STEGO",
    "mask2former": "Mask2Former",
    "whole-image": "whole image",
    "centre-disc": "centre disc",
    "model": "the model",
    "human": "human raters",
}
RENDER_SUFFIX = "-render"  # a method attributed on real renders through img2img (the toy world)
RENDER_SUBSET = "render/"  # ... whose subsets repeat it


def method_name(method: str) -> str:
    """ "daam@0.4" -> "DAAM-0.4", "daam-render@0.4" -> "DAAM-0.4 (real renders)"; unknown names unchanged."""
    base, at, tau = method.partition("@")
    renders = base.endswith(RENDER_SUFFIX) and base != RENDER_SUFFIX
    if renders:
        base = base[: -len(RENDER_SUFFIX)]
    name = METHOD_NAMES.get(base, base) + (f"-{tau}" if at else "")
    return name + (" (real renders)" if renders else "")


def subset_name(subset: str, method: str = "") -> str:
    """The subset, without the "render/" that a real-renders method's name already says."""
    if method.partition("@")[0].endswith(RENDER_SUFFIX) and subset.startswith(RENDER_SUBSET):
        return subset[len(RENDER_SUBSET) :]
    return subset


def split_common(parts: Sequence[Sequence[str]]) -> tuple[list[str], list[str]]:
    """(the parts all lines share, one label per line from the parts that differ).

    Parts are compared by position; empty parts are left out. One line shares everything: its
    label is "" (no legend) and all its parts go to the title.
    """
    if not parts:
        return [], []
    width = max(len(p) for p in parts)
    padded = [tuple(p) + ("",) * (width - len(p)) for p in parts]
    shared = [all(p[i] == padded[0][i] for p in padded) for i in range(width)]
    common = [padded[0][i] for i in range(width) if shared[i] and padded[0][i]]
    labels = [", ".join(x for i, x in enumerate(p) if not shared[i] and x) for p in padded]
    return common, labels


def with_common(title: str, common: Sequence[str]) -> str:
    """``title``, then the shared parts (those not already in the title): "ablation over steps: shapes / weights, ..."."""
    extra = [c for c in common if not re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", title, re.IGNORECASE)]
    return f"{title}: {', '.join(extra)}" if extra else title

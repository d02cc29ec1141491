"""What raters see: the label configs, answer scales and noun choices of the three studies.

- segmentation (paper 3.1): a generated image; brush and polygon tools with one label per noun
  of that prompt (per-task labels through ``value="$nouns"``).
- rating (paper 3.2): the image, its DAAM heat-map overlay and the prompt with the target word
  bold and underlined (the paper's red would read as part of the heat map, whose hot end is red
  and yellow); five-point scale plus "image too poor" and "word too abstract".
- presence (paper 5.1): a cohyponym-prompt image with the ontology's nouns as choices.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import quoteattr

STUDIES = ("segmentation", "rating", "presence")
SCALE = ("bad", "poor", "fair", "good", "excellent")  # scored 1..5
IMAGE_TOO_POOR = "image too poor"
WORD_TOO_ABSTRACT = "word too abstract"
FLAGS = (IMAGE_TOO_POOR, WORD_TOO_ABSTRACT)


# Appendix C: the cohyponym ontology over COCO objects (leaf hypernym -> nouns), read from the
# split's own data file (benchmark/splits/data/ontology.yaml), the one home of the ontology.
def _leaf_categories() -> dict[str, tuple[str, ...]]:
    from benchmark.splits.ontology import ontology

    tree = ontology()
    out: dict[str, list[str]] = {}
    for noun in tree.nouns:
        out.setdefault(tree.parent(noun).lower(), []).append(noun)
    return {k: tuple(v) for k, v in out.items()}


ONTOLOGY: dict[str, tuple[str, ...]] = _leaf_categories()
ONTOLOGY_NOUNS: tuple[str, ...] = tuple(n for nouns in ONTOLOGY.values() for n in nouns)

# Control names in the label configs; ingest accepts results from these only.
CONTROLS: dict[str, dict[str, str]] = {
    "segmentation": {"brush": "brushlabels", "polygon": "polygonlabels"},
    "rating": {"rating": "choices"},
    "presence": {"objects": "choices"},
}
IMAGE_NAME = "image"

# One line per study for the project's description: what a rater does.
WHAT_TO_DO = {
    "segmentation": "paint or outline every object the task names that you can see in the image",
    "rating": (
        "rate how well the heat map reflects the bold, underlined word of the prompt (bad to excellent), "
        "or flag the image as too poor or the word as too abstract"
    ),
    "presence": "pick every listed object that you can see in the image",
}


class StudyError(ValueError):
    """A study name, run or prompt that cannot become tasks."""


def check_study(study: str) -> str:
    if study not in STUDIES:
        raise StudyError(f"unknown study {study!r}; the studies are {', '.join(STUDIES)}")
    return study


def label_config(study: str, choices: Iterable[str] = ()) -> str:
    """The Label Studio XML of a study (presence needs its noun choices)."""
    check_study(study)
    if study == "segmentation":
        return (
            "<View>\n"
            '  <Header value="Paint or outline every object named below that you can see."/>\n'
            '  <Text name="prompt" value="$prompt"/>\n'
            '  <Header value="Brush (paint a region):" size="6"/>\n'
            f'  <BrushLabels name="brush" toName="{IMAGE_NAME}" value="$nouns"/>\n'
            '  <Header value="Polygon (click its outline):" size="6"/>\n'
            f'  <PolygonLabels name="polygon" toName="{IMAGE_NAME}" value="$nouns"/>\n'
            f'  <Image name="{IMAGE_NAME}" value="$image" zoom="true" zoomControl="true"/>\n'
            "</View>\n"
        )
    if study == "rating":
        options = "".join(f"    <Choice value={quoteattr(c)}/>\n" for c in SCALE + FLAGS)
        return (
            "<View>\n"
            '  <Header value="How well does the heat map (bright where the model attends) reflect the '
            'bold, underlined word of the prompt?"/>\n'
            '  <View style="display: flex; gap: 1em;">\n'
            f'    <Image name="{IMAGE_NAME}" value="$image" width="384px"/>\n'
            '    <Image name="heatmap" value="$overlay" width="384px"/>\n'
            "  </View>\n"
            '  <HyperText name="prompt" value="$prompt_html" inline="true"/>\n'
            f'  <Choices name="rating" toName="{IMAGE_NAME}" choice="single-radio" '
            'required="true" showInline="true">\n'
            f"{options}"
            "  </Choices>\n"
            "</View>\n"
        )
    names = list(choices)
    if not names:
        raise StudyError("the presence study needs at least one noun choice")
    options = "".join(f"    <Choice value={quoteattr(c)}/>\n" for c in names)
    return (
        "<View>\n"
        '  <Header value="Which of these objects are in the image? Pick every one you see."/>\n'
        f'  <Image name="{IMAGE_NAME}" value="$image" maxWidth="512px"/>\n'
        f'  <Choices name="objects" toName="{IMAGE_NAME}" choice="multiple" showInline="true">\n'
        f"{options}"
        "  </Choices>\n"
        "</View>\n"
    )

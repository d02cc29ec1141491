"""DAAM: diffusion attentive attribution maps (Tang et al., ACL 2023).

``daam`` is a pure library: it hooks a diffusers pipeline, observes its cross-attention, and
returns per-word maps. It knows nothing of the benchmark, the database or the CLI.
"""

from daam.adapters import UnsupportedPipelineError, supported_pipelines
from daam.attribute import attribute, img2img_pipeline
from daam.concepts import concept_attention
from daam.inject import fix_layout
from daam.maps import TAUS, GenerationMaps, WordMap, overlay
from daam.trace import TraceError, attention_layers, trace
from daam.words import PromptTokens, TokenSegment, Word, WordNotFoundError, align

__version__ = "0.1.0"
load = GenerationMaps.load

__all__ = [
    "trace",
    "concept_attention",
    "attribute",
    "img2img_pipeline",
    "fix_layout",
    "GenerationMaps",
    "WordMap",
    "TAUS",
    "overlay",
    "load",
    "align",
    "PromptTokens",
    "Word",
    "WordNotFoundError",
    "UnsupportedPipelineError",
    "TraceError",
    "TokenSegment",
    "supported_pipelines",
    "attention_layers",
]

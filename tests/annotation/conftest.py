"""A real Label Studio server for the session, and small workspaces made with the tiny pipeline.

The server comes from its own virtual environment (installed on first use, ~2 min) and a
template data folder (~1 min once); each session then starts a copy in ~11 s on a free
loopback port and stops it at the end.  Its local-files document root is a session folder
that holds every test workspace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

import daam
import db
from annotation.client import Connection
from annotation.env import TEMPLATE_ENV, VENV_ENV, ensure_server_env, ensure_template
from annotation.labelstudio import Credentials, LabelStudioServer
from annotation.workspace import Workspace

# A checkout that built the server's environment beside the code (before it moved to the user
# cache folder) keeps using it instead of installing another gigabyte.
_REPO = Path(__file__).resolve().parents[2]
for _name, _path in (
    (VENV_ENV, _REPO / ".labelstudio-venv"),
    (TEMPLATE_ENV, _REPO / ".cache" / "labelstudio-template"),
):
    if not os.environ.get(_name) and _path.is_dir():
        os.environ[_name] = str(_path)

STEPS = 2
SIZE = 64

# (key, prompt, provenance, words): one run per study, as the splits would make them.
SEGMENTATION = [
    ("seg-0", "a dog and a cat", {"nouns": ["dog", "cat"]}, ("dog", "cat")),
    ("seg-1", "a red car", {"nouns": ["car"]}, ("car",)),
    ("seg-2", "a giraffe and a zebra", {"nouns": ["giraffe", "zebra"]}, ("giraffe", "zebra")),
]
RATING = [  # as the pos split writes them (one word, its POS and occurrence), one with a target
    ("pos-0", "a dog running fast", {"pos": "VERB", "occurrence": 0, "attention_check": False}, ("running",)),
    ("pos-1", "a blue teapot", {"pos": "ADJ", "occurrence": 0, "attention_check": False}, ("blue",)),
    ("pos-2", "a cat on a mat", {"target": "cat", "pos": "NOUN"}, ("cat",)),
    ("pos-3", "a dog on the grass.", {"pos": "PUNCT", "occurrence": 0, "attention_check": True}, (".",)),
]
PRESENCE = [
    ("coh-0", "a giraffe and a zebra", {"nouns": ["giraffe", "zebra"], "cohyponym": True}, ("giraffe", "zebra")),
    ("coh-1", "a cake and a bus", {"nouns": ["cake", "bus"], "cohyponym": False}, ("cake", "bus")),
    ("coh-2", "a cat and a dog", {"nouns": ["cat", "dog"], "cohyponym": True}, ("cat", "dog")),
]
RUNS = {"seg-run": ("coco-gen", SEGMENTATION), "pos-run": ("pos", RATING), "coh-run": ("cohyponym", PRESENCE)}


@dataclass
class Bench:
    """A workspace with its database: three runs (one per study), images and DAAM maps."""

    workspace: Workspace
    store: db.Store
    generations: dict[str, db.Generation]  # prompt key -> generation


@pytest.fixture(scope="session")
def annotation_root(tmp_path_factory) -> Path:
    """The session server's local-files document root; workspaces live below it."""
    return tmp_path_factory.mktemp("annotation-root")


@pytest.fixture(scope="session")
def ls_template() -> Path:
    exe = ensure_server_env(log=print)
    return ensure_template(exe, log=print)


@pytest.fixture(scope="session")
def ls_server(ls_template, annotation_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("labelstudio")
    server = LabelStudioServer.start(
        folder / "data", annotation_root, Credentials.generate(), log_path=folder / "server.log", template=ls_template
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ls_connection(ls_server) -> Connection:
    return Connection(ls_server.url, ls_server.token)


def make_bench(root: Path, sd_path: Path, name: str = "ws") -> Bench:
    """Generate every prompt with the tiny pipeline under DAAM and store it as the runner would."""
    from PIL import Image

    from tests.pipelines import load

    workspace = Workspace.at(root / name)
    (workspace.root / "images").mkdir(parents=True)
    (workspace.root / "maps").mkdir()
    store = db.connect(workspace.root / "bench.sqlite")
    model = store.get_or_create_model("tiny-sd", "test", "diffusion")
    pipe = load("StableDiffusionPipeline", sd_path)
    generations: dict[str, db.Generation] = {}
    for run_name, (split, items) in RUNS.items():
        run = store.create_run(run_name, split, model.id, {"steps": STEPS, "size": SIZE})
        prompts = store.add_prompts(split, "v1", [db.PromptSpec(k, t, p, w) for k, t, p, w in items])
        with daam.trace(pipe) as tc:
            out = pipe(
                [p.text for p in prompts],
                num_inference_steps=STEPS,
                height=SIZE,
                width=SIZE,
                output_type="np",
                generator=torch.Generator().manual_seed(0),
            )
        for prompt, image, maps in zip(prompts, out.images, tc.results(), strict=True):
            image_path = f"images/{run_name}/{prompt.key}.png"
            maps_path = f"maps/{run_name}/{prompt.key}.safetensors"
            workspace.file(image_path).parent.mkdir(parents=True, exist_ok=True)
            workspace.file(maps_path).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray((image * 255).round().astype(np.uint8)).save(workspace.file(image_path))
            maps.save(workspace.file(maps_path))
            generation = store.record_generation(
                run.id, prompt.id, 0, seed=0, image_path=image_path, height=SIZE, width=SIZE
            )
            store.add_word_maps(
                generation.id, [db.WordMapSpec(w, 0, maps.find_word(w).tokens, maps_path) for w in prompt.words]
            )
            generations[prompt.key] = generation
    return Bench(workspace, store, generations)


@pytest.fixture(scope="session")
def bench(annotation_root, sd_path) -> Bench:
    made = make_bench(annotation_root, sd_path)
    yield made
    made.store.close()


@pytest.fixture(scope="session")
def other_bench(annotation_root, sd_path) -> Bench:
    """A second workspace, for tests that must not add judgements to ``bench``."""
    made = make_bench(annotation_root, sd_path, "other")
    yield made
    made.store.close()

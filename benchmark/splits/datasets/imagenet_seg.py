"""ImageNet-Segmentation (Guillaumin, Kuettel and Ferrari, IJCV 2014), read from the one file
``gtsegs_ijcv.mat`` that Transformer-Explainability (Chefer et al., CVPR 2021) and ConceptAttention
(Helbling et al., ICML 2025) evaluate on: 4,276 ImageNet images, each with a binary foreground mask.

The file is a MATLAB v7.3 MAT-file, which is HDF5: one struct ``value`` whose fields are cell
arrays of object references, one element per image (HDF5 shape ``[N, 1]``)::

    /value/img[i, 0] -> uint8 [3, W, H]     the image; MATLAB's H x W x 3, column-major
    /value/gt[i, 0]  -> ref [1, 1] -> [W, H]  a cell holding the mask (nonzero: foreground)
    /value/id[i, 0]  -> uint16 [L, 1]       MATLAB chars, e.g. "n02084071_1234": WordNet synset
                                            id and ImageNet image number

as the two evaluations read it (``f[f['/value/img'][i, 0]]`` transposed ``(2, 1, 0)``; the mask
``f[f[f['/value/gt'][i, 0]][0, 0]]`` transposed). The file names no class: only the synset id.

**The class word.** ConceptAttention names each image's class the way we do here by default:
the synset's first WordNet lemma (NLTK's WordNet 3.0: ``n02084071`` -> "dog"), which its own
table ``imagenet_class_map.json`` then simplifies to a common word ("giant schnauzer" -> "dog",
"lechwe" -> "animal"). Pass that table (or any JSON/mapping from lemmas or synset ids to words)
as ``names`` to use its words; without it the lemma itself, lowercased, is the word. The prompt
is then ConceptAttention's caption, ``"a <word>"`` (:func:`imagenet_seg_prompt`), and
:data:`BACKGROUND_CONCEPTS` the other concepts it attends to beside the word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from benchmark.splits.datasets import DatasetError, Sample

N_IMAGES = 4276  # in the published file
FIELDS = ("img", "gt", "id")
# ConceptAttention's concepts beside the class word in its ImageNet-Segmentation experiment.
BACKGROUND_CONCEPTS: tuple[str, ...] = ("background", "floor", "tree", "person", "grass", "face")
_WNID = re.compile(r"^n\d{8}$")


def _h5py():
    import h5py  # the `real` extra

    return h5py


def _open(path: Path):
    h5py = _h5py()
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"ImageNet-Segmentation file {path} does not exist (download gtsegs_ijcv.mat)")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise DatasetError(
            f"{path} is not an HDF5 (MATLAB v7.3) file like gtsegs_ijcv.mat: {e}; a MATLAB v5 .mat or a "
            "partial download cannot be read"
        ) from e


def _fields(f, path: Path) -> dict:
    """The ``value`` struct's reference columns, checked: each an ``[N, 1]`` array of references."""
    h5py = _h5py()
    value = f.get("value")
    if not isinstance(value, h5py.Group):
        raise DatasetError(f"{path} has no struct 'value' (it has: {', '.join(sorted(f.keys())) or 'nothing'})")
    missing = [k for k in FIELDS if not isinstance(value.get(k), h5py.Dataset)]
    if missing:
        raise DatasetError(
            f"{path}: /value lacks {', '.join('/value/' + k for k in missing)} "
            f"(it has: {', '.join(sorted(value.keys())) or 'nothing'}); expected ImageNet-Segmentation's gtsegs_ijcv.mat"
        )
    cols = {}
    for k in FIELDS:
        ds = value[k]
        if h5py.check_dtype(ref=ds.dtype) is None or ds.ndim != 2 or 1 not in ds.shape:
            raise DatasetError(f"{path}: /value/{k} is {ds.dtype} {ds.shape}, not a MATLAB cell column of references")
        cols[k] = np.asarray(ds).reshape(-1)
    n = {k: len(v) for k, v in cols.items()}
    if len(set(n.values())) != 1:
        raise DatasetError(f"{path}: the /value fields disagree on the number of images: {n}")
    return cols


def _deref(f, ref, what: str, path: Path):
    if not ref:
        raise DatasetError(f"{path}: {what} is an empty reference")
    try:
        return f[ref]
    except (KeyError, ValueError) as e:
        raise DatasetError(f"{path}: {what} references nothing readable ({e})") from e


def _chars(ds, what: str, path: Path) -> str:
    arr = np.asarray(ds)
    if arr.dtype.kind not in "ui" or (arr.ndim == 2 and 1 not in arr.shape) or arr.ndim > 2:
        raise DatasetError(f"{path}: {what} is {arr.dtype} {arr.shape}, not a MATLAB char row")
    return "".join(map(chr, arr.reshape(-1).tolist())).strip()


def _image(f, ref, i: int, path: Path) -> np.ndarray:
    arr = np.asarray(_deref(f, ref, f"/value/img[{i}]", path))
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[0] != 3):
        raise DatasetError(f"{path}: image {i} is {arr.dtype} {arr.shape}, expected uint8 [3, W, H] (MATLAB H x W x 3)")
    if arr.ndim == 2:  # a grey image: H x W in MATLAB
        return np.repeat(arr.T[:, :, None], 3, axis=2)
    return np.ascontiguousarray(arr.transpose(2, 1, 0))


def _mask(f, ref, i: int, path: Path) -> np.ndarray:
    h5py = _h5py()
    ds = _deref(f, ref, f"/value/gt[{i}]", path)
    if h5py.check_dtype(ref=ds.dtype) is not None:  # the cell around the mask
        inner = np.asarray(ds).reshape(-1)
        if inner.size != 1:
            raise DatasetError(f"{path}: /value/gt[{i}] is a cell of {inner.size} elements, expected one mask")
        ds = _deref(f, inner[0], f"/value/gt[{i}]{{1}}", path)
    arr = np.asarray(ds)
    if arr.ndim != 2 or arr.dtype.kind not in "buif":
        raise DatasetError(f"{path}: mask {i} is {arr.dtype} {arr.shape}, expected a [W, H] array")
    return np.ascontiguousarray(arr.T != 0)


def wordnet_lemma(wnid: str) -> str:
    """The first lemma of WordNet 3.0 synset ``wnid`` (``n02084071`` -> ``dog``), via NLTK, as
    ConceptAttention names ImageNet-Segmentation's classes."""
    from nltk.corpus import wordnet  # the `real` extra

    try:
        synset = wordnet.synset_from_pos_and_offset(wnid[0], int(wnid[1:]))
    except LookupError as e:
        raise DatasetError(
            "ImageNet-Segmentation names its classes only by WordNet synset id; naming them needs "
            "NLTK's WordNet (python -m nltk.downloader wordnet) or a names mapping from synset id to word"
        ) from e
    except Exception as e:  # nltk's WordNetError: an offset WordNet does not have
        raise DatasetError(f"WordNet has no synset {wnid}: {e}") from e
    return synset.lemmas()[0].name().replace("_", " ")


def load_names(names: Mapping[str, str] | Path | str | None) -> dict[str, str]:
    """A names table: a mapping, or a JSON file holding one (ConceptAttention's
    ``imagenet_class_map.json``, ``{"categories": {lemma: word}}``, or ``{synset id: word}``)."""
    if names is None:
        return {}
    if isinstance(names, (str, Path)):
        try:
            data = json.loads(Path(names).read_text())
        except (OSError, ValueError) as e:
            raise DatasetError(f"cannot read the class names file {names}: {e}") from e
        if isinstance(data, dict) and isinstance(data.get("categories"), dict):
            data = data["categories"]
        names = data
    if not isinstance(names, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise DatasetError("class names must map strings (WordNet lemmas or synset ids) to words")
    return dict(names)


def class_word(wnid: str, names: Mapping[str, str]) -> tuple[str, str | None]:
    """(word, WordNet lemma or None): ``names[wnid]`` when the table has the synset id; else the
    synset's first lemma, through ``names`` when the table has the lemma (ConceptAttention's
    simplification), else the lemma itself."""
    if wnid in names:
        return names[wnid].strip().lower(), None
    lemma = wordnet_lemma(wnid)
    return names.get(lemma, lemma).strip().lower(), lemma


def read_imagenet_seg(path: Path, names: Mapping[str, str] | Path | str | None = None) -> list[Sample]:
    """Every image of ``gtsegs_ijcv.mat``: key the image's index in the file ("0".."4275"), one
    class (see the module's note on the class word) whose mask is the file's foreground, no ignore
    mask. Ids and names are read here; images and masks when a sample's loaders are called."""
    path = Path(path)
    table = load_names(names)
    with _open(path) as f:
        cols = _fields(f, path)
        ids = [_chars(_deref(f, r, f"/value/id[{i}]", path), f"/value/id[{i}]", path) for i, r in enumerate(cols["id"])]
    samples = []
    words: dict[str, tuple[str, str | None]] = {}
    for i, image_id in enumerate(ids):
        wnid = image_id.split("_", 1)[0]
        if not _WNID.match(wnid):
            raise DatasetError(
                f"{path}: image {i}'s id {image_id!r} does not start with a WordNet synset id (n########)"
            )
        if wnid not in words:
            words[wnid] = class_word(wnid, table)
        word, lemma = words[wnid]
        if not word:
            raise DatasetError(f"the class names give synset {wnid} an empty word")
        samples.append(
            Sample(
                key=str(i),
                image=lambda i=i: _load_image(path, i),
                classes=(word,),
                truth=lambda i=i, word=word: ({word: _load_mask(path, i)}, None),
                details={"index": i, "id": image_id, "wnid": wnid, "lemma": lemma},
            )
        )
    return samples


def _ref(ds, i: int):
    """Element ``i`` of a MATLAB cell column (HDF5 ``[N, 1]``) or row (``[1, N]``)."""
    return ds[i, 0] if ds.shape[1] == 1 else ds[0, i]


def _load_image(path: Path, i: int) -> np.ndarray:
    with _open(path) as f:
        return _image(f, _ref(f["value"]["img"], i), i, path)


def _load_mask(path: Path, i: int) -> np.ndarray:
    with _open(path) as f:
        value = f["value"]
        mask = _mask(f, _ref(value["gt"], i), i, path)
        size = _deref(f, _ref(value["img"], i), f"/value/img[{i}]", path).shape[::-1][:2]  # [3, W, H] -> (H, W)
    if mask.shape != size:
        raise DatasetError(f"{path}: mask {i} is {mask.shape[1]}x{mask.shape[0]}, its image {size[1]}x{size[0]}")
    return mask


def imagenet_seg_prompt(sample: Sample) -> tuple[str, tuple[str, ...]]:
    """ConceptAttention's caption for an ImageNet-Segmentation image and its word: ``("a dog",
    ("dog",))``. The article is always "a", as theirs is ("a animal"), so that prompts match."""
    if len(sample.classes) != 1:
        raise ValueError(f"an ImageNet-Segmentation sample has one class, {sample.key} has {sample.classes}")
    word = sample.classes[0]
    return f"a {word}", (word,)

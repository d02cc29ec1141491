"""The real CLIP BPE tokenizer, built offline (and a small T5-style one for tests and benchmarks).

Stable Diffusion's tokenizer (openai/clip-vit-large-patch14) is byte-level BPE over 49,408
entries. The hub is out of reach here, but ``open_clip_torch`` ships the same merges file
(``bpe_simple_vocab_16e6.txt.gz``); from it we rebuild ``vocab.json`` and ``merges.txt`` exactly
as OpenAI's tokenizer builds them in memory, and hand both to ``transformers.CLIPTokenizer``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

N_MERGES = 48894  # lines 1..48894 hold the merges (line 0 is a version header)
BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def find_bpe_file() -> Path:
    """Locate open_clip's merges file without importing open_clip (it would pull torchvision)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{BPE_FILE} not found: install it with `pip install --no-deps open_clip_torch`")
    for location in spec.submodule_search_locations:
        path = Path(location) / BPE_FILE
        if path.exists():
            return path
    raise FileNotFoundError(f"open_clip is installed but {BPE_FILE} is missing from it")


def write_clip_tokenizer_files(out_dir: str | Path, bpe_file: str | Path | None = None) -> Path:
    """Write ``vocab.json`` and ``merges.txt`` of the CLIP tokenizer into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = gzip.open(bpe_file or find_bpe_file(), "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : N_MERGES + 1]]
    symbols = list(_bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (out / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", encoding="utf-8")
    return out


def build_clip_tokenizer(out_dir: str | Path, pad_token: str = "<|endoftext|>"):
    """A ``CLIPTokenizer`` with openai/clip-vit-large-patch14's ids, saved to ``out_dir``.

    SD 1.x pads with ``<|endoftext|>``; SD 2.x pads with ``"!"`` (id 0).
    """
    from transformers import CLIPTokenizer

    out = write_clip_tokenizer_files(out_dir)
    try:  # transformers >= 5 takes the vocabulary and merges themselves
        tok = CLIPTokenizer(vocab=str(out / "vocab.json"), merges=str(out / "merges.txt"), pad_token=pad_token)
    except TypeError:  # transformers 4.x
        tok = CLIPTokenizer(
            vocab_file=str(out / "vocab.json"), merges_file=str(out / "merges.txt"), pad_token=pad_token
        )
    tok.model_max_length = 77
    tok.save_pretrained(out)
    return tok


T5_WORDS = (
    "a an the dog cat and on sofa red car photo of ice cream blue green yellow big small sitting standing next "
    "to with in field street table man woman person bowl banana apple horse bird circle square triangle star "
    "heart sky grass tree house boat train bench clock pizza cake"
).split()  # whole pieces; other words (e.g. "giraffe") fall apart into letters, as rare words do in T5


def build_t5_tokenizer(path: str | Path) -> Path:
    """A SentencePiece Unigram tokenizer in T5's conventions ("▁" word starts, </s> appended).

    Built from an explicit vocabulary, no training: "▁word" pieces for common words, single
    letters and "▁" for everything else, so offsets and multi-piece words behave as in T5.
    """
    import string

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.processors import TemplateProcessing
    from transformers import T5TokenizerFast

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [("▁" + w, -1.0) for w in T5_WORDS]
    pieces += [(c, -5.0) for c in string.ascii_lowercase + string.ascii_uppercase + string.digits + ".,!?'-"]
    sp = Tokenizer(models.Unigram(pieces, unk_id=2))
    sp.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    sp.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    sp.post_processor = TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    tok = T5TokenizerFast(
        tokenizer_object=sp, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0, model_max_length=512
    )
    tok.save_pretrained(path)
    return path

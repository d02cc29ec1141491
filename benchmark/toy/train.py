"""Seeded, resumable training of the toy world's text-to-image model.

Recipe (see MODEL_CARD.md): a 2-block VAE trained first on renders, then a UNet trained with the
epsilon-prediction diffusion loss plus a token-grounding loss in the spirit of TokenCompose
(Wang et al., CVPR 2024): for every colour and shape word of a caption, on every cross-attention
layer, ``1 - (its attention mass inside its object's exact mask) / (its total mass)`` and a
per-pixel BCE term. Attention is therefore *supervised*: DAAM's score on this model is partly a
product of training, which the model card says plainly.

Every batch is a pure function of ``(seed, step)``, so a resumed run sees the same data as an
uninterrupted one. State is checkpointed atomically; killing the process loses at most
``checkpoint_every`` steps.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.toy import model as toy_model
from benchmark.toy.export import export
from benchmark.toy.recipe import RecipeMismatchError, TrainConfig, recipe_changes
from benchmark.toy.world import SceneSampler, render, train_combos


class GroundingAttnProcessor:
    """Standard (non-fused) cross-attention that also keeps its probabilities for the loss.

    Used only while training: the shipped pipeline runs diffusers' own processors.
    """

    def __init__(self, sink: list):
        self.sink = sink

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kw):
        b, n, _ = hidden_states.shape
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        q = attn.head_to_batch_dim(attn.to_q(hidden_states))
        k = attn.head_to_batch_dim(attn.to_k(context))
        v = attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(q, k, None)  # [b*heads, n, tokens]
        out = attn.batch_to_head_dim(torch.bmm(probs, v))
        out = attn.to_out[1](attn.to_out[0](out))
        self.sink.append(probs.view(b, attn.heads, n, -1).mean(1))  # [b, n, tokens]
        return out


def _images_to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def make_batch(sampler: SceneSampler, tokenizer, seed: int, step: int, batch_size: int, dropout: float):
    """Images, token ids and grounding targets for one step; a pure function of (seed, step)."""
    from daam.words import align

    rng = np.random.default_rng([seed, step])
    images, captions, targets = [], [], []  # targets: (batch index, token index, mask)
    for b in range(batch_size):
        scene = sampler.sample(rng)
        img, masks = render(scene)
        images.append(img)
        if rng.random() < dropout:
            captions.append("")
            continue
        captions.append(scene.caption)
        tokens = align(tokenizer, scene.caption, warn=False)
        for (cspan, sspan), mask in zip(scene.spans, masks):
            for w in tokens.words:
                if (w.start, w.end) in (cspan, sspan):
                    for t in w.tokens:
                        targets.append((b, t, mask))
    ids = tokenizer(captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    return _images_to_tensor(images), ids, targets


def grounding_losses(probs_per_layer: list[torch.Tensor], targets, keep: torch.Tensor):
    """Token-mass and pixel BCE grounding losses over all cross-attention layers."""
    if not targets:
        z = torch.zeros(())
        return z, z
    rows = [i for i, (b, _, _) in enumerate(targets) if keep[b]]
    if not rows:
        z = torch.zeros(())
        return z, z
    device = probs_per_layer[0].device
    bidx = torch.tensor([targets[i][0] for i in rows], device=device)
    tidx = torch.tensor([targets[i][1] for i in rows], device=device)
    masks = torch.from_numpy(np.stack([targets[i][2] for i in rows])).float()[:, None].to(device)
    tok_losses, pix_losses = [], []
    for probs in probs_per_layer:
        n = probs.shape[1]
        side = int(round(math.sqrt(n)))
        a = probs[bidx, :, tidx]  # [rows, n]: each word token's attention over pixels
        m = F.interpolate(masks, size=(side, side), mode="area").flatten(1)  # soft mask [rows, n]
        inside = (a * m).sum(1) / a.sum(1).clamp_min(1e-8)
        tok_losses.append((1 - inside).mean())
        a_norm = (a / a.amax(1, keepdim=True).clamp_min(1e-8)).clamp(1e-6, 1 - 1e-6)
        pix_losses.append(F.binary_cross_entropy(a_norm, m))
    return torch.stack(tok_losses).mean(), torch.stack(pix_losses).mean()


def _atomic_save(obj, path: Path):
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _log(out: Path, record: dict):
    with open(out / "log.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")


def machine_facts(device: torch.device, threads: int) -> dict:
    """What this session trains on, logged at every (re)start so the model card can say it."""
    import platform

    facts = {
        "device": device.type,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(device)
    return facts


def _device(cfg: TrainConfig) -> torch.device:
    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(cfg.device)


def train_vae(cfg: TrainConfig, out: Path, sampler: SceneSampler):
    from tqdm import tqdm

    vae_dir = out / "vae"
    if (vae_dir / "config.json").exists():
        from diffusers import AutoencoderKL

        return AutoencoderKL.from_pretrained(vae_dir).to(_device(cfg))
    device = _device(cfg)
    torch.manual_seed(cfg.seed)
    vae = toy_model.build_vae().to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    state_path = out / "vae_state.pt"
    start = 0
    if state_path.exists():
        st = torch.load(state_path, weights_only=True, map_location=device)
        vae.load_state_dict(st["vae"])
        opt.load_state_dict(st["opt"])
        start = st["step"]
    bar = tqdm(range(start, cfg.vae_steps), desc="vae", initial=start, total=cfg.vae_steps)
    for step in bar:
        x = _vae_batch(sampler, cfg, step).to(device)
        post = vae.encode(x).latent_dist
        g = torch.Generator().manual_seed(step)
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=g).to(device)
        rec = vae.decode(z).sample
        kl = post.kl().mean() / x[0].numel()
        loss = F.mse_loss(rec, x) + 0.5 * F.l1_loss(rec, x) + 1e-4 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if (step + 1) % 100 == 0:
            _log(out, {"phase": "vae", "step": step + 1, "loss": loss.item(), "time": time.time()})
        if (step + 1) % cfg.checkpoint_every == 0:
            _atomic_save({"vae": vae.state_dict(), "opt": opt.state_dict(), "step": step + 1}, state_path)
    # scale latents to unit variance, as Stable Diffusion's 0.18215 does for its VAE
    with torch.no_grad():
        x = torch.cat([_vae_batch(sampler, cfg, 10_000_000 + i) for i in range(8)]).to(device)
        std = vae.encode(x).latent_dist.mean.std().item()
    vae.register_to_config(scaling_factor=1.0 / std)
    vae.save_pretrained(vae_dir)
    _log(out, {"phase": "vae", "done": True, "scaling_factor": 1.0 / std})
    return vae


def _vae_batch(sampler: SceneSampler, cfg: TrainConfig, step: int) -> torch.Tensor:
    rng = np.random.default_rng([cfg.seed, 7, step])
    return _images_to_tensor([render(sampler.sample(rng))[0] for _ in range(cfg.batch_size)])


def _without_frozen(text_encoder) -> dict:
    """The EMA text encoder's state minus the frozen word embeddings (kept once, in the model)."""
    return {k: v for k, v in text_encoder.state_dict().items() if "token_embedding" not in k}


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float):
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 1 - decay)


def attention_sharpness(unet, text_encoder, vae, tokenizer, sampler, seed: int, t: int = 400, n: int = 32) -> dict:
    """A word's attention mass inside its object relative to the object's area (1 = flat).

    Measured on held-out renders noised to step ``t``: an early signal of whether a recipe
    localises, long before images are good.
    """
    sink: list = []
    procs = unet.attn_processors
    unet.set_attn_processor({k: (GroundingAttnProcessor(sink) if "attn2" in k else v) for k, v in procs.items()})
    try:
        held = SceneSampler(size=sampler.size, allowed=None)
        x, ids, targets = make_batch(held, tokenizer, seed + 99, 0, n, 0.0)
        device = next(unet.parameters()).device
        x, ids = x.to(device), ids.to(device)
        with torch.no_grad():
            lat = vae.encode(x).latent_dist.mean * vae.config.scaling_factor
            sched = toy_model.build_scheduler("ddpm")
            g = torch.Generator().manual_seed(0)
            tt = torch.full((n,), t, dtype=torch.long)
            noisy = sched.add_noise(lat, torch.randn(lat.shape, generator=g).to(device), tt.to(device))
            unet(noisy, tt.to(device), text_encoder(ids)[0])
        ratios = []
        for probs in sink:
            side = int(round(math.sqrt(probs.shape[1])))
            for b, tok, mask in targets:
                m = F.interpolate(
                    torch.from_numpy(mask)[None, None].float().to(probs.device), size=(side, side), mode="area"
                ).flatten()
                a = probs[b, :, tok]
                ratios.append(((a * m).sum() / a.sum()).item() / max(m.mean().item(), 1e-6))
        return {"sharpness": float(np.mean(ratios)) if ratios else float("nan")}
    finally:
        unet.set_attn_processor(procs)


def _log_accuracy(cfg: TrainConfig, out: Path, step: int, unet, text_encoder, vae, tokenizer) -> None:
    """Generation accuracy of the EMA weights on the first ``accuracy_size`` shapes items."""
    from benchmark.splits import build_split
    from benchmark.splits.base import SplitOptions
    from benchmark.toy.evaluate import accuracy_by_subset, append_accuracy

    started = time.time()
    items = build_split("shapes", SplitOptions(size=cfg.accuracy_size))
    pipe = toy_model.assemble_pipeline(unet, vae, text_encoder, tokenizer)
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad():
        subsets, miou = accuracy_by_subset(
            pipe, items, toy_model.SAMPLING_GUIDANCE, toy_model.SAMPLING_STEPS, progress=False
        )
    append_accuracy(
        out,
        step,
        toy_model.SAMPLING_GUIDANCE,
        toy_model.SAMPLING_STEPS,
        len(items),
        0,
        time.time() - started,
        subsets,
        miou,
        by="bench toy train",
    )


def _check_resumable(cfg: TrainConfig, out: Path) -> None:
    """Refuse to resume a run under a different recipe: the result would match neither."""
    saved_path = out / "config.json"
    if not (out / "state.pt").exists() or not saved_path.exists():
        return
    saved = json.loads(saved_path.read_text())
    changed = recipe_changes(saved, cfg)
    if changed:
        raise RecipeMismatchError(
            f"{out} holds a run trained with another recipe ({'; '.join(changed)}): resume it with "
            "the same settings, or train into a new --out-dir"
        )


def train(cfg: TrainConfig):
    from tqdm import tqdm
    from transformers import CLIPTokenizer

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _check_resumable(cfg, out)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    _log(out, {"phase": "machine", **machine_facts(_device(cfg), cfg.threads), "time": time.time()})
    tok_dir = out / "tokenizer"
    if not (tok_dir / "vocab.json").exists():
        from benchmark.toy.tokenizer import build_clip_tokenizer

        build_clip_tokenizer(tok_dir)
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir)
    sampler = SceneSampler(allowed=train_combos())
    vae = train_vae(cfg, out, sampler)
    vae.requires_grad_(False).eval()

    device = _device(cfg)
    torch.manual_seed(cfg.seed)
    unet = toy_model.build_unet().to(device)
    text_encoder = toy_model.build_text_encoder().to(device)
    # Word embeddings stay at their random initialisation: distinct random vectors are already
    # separable, and freezing them keeps the optimiser state small. Positions are learnt.
    text_encoder.get_input_embeddings().requires_grad_(False)
    params = [p for p in list(unet.parameters()) + list(text_encoder.parameters()) if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-2)
    ema_unet, ema_text = copy.deepcopy(unet).requires_grad_(False), copy.deepcopy(text_encoder).requires_grad_(False)
    state_path = out / "state.pt"
    start = 0
    if state_path.exists():
        st = torch.load(state_path, weights_only=True, map_location=device)
        unet.load_state_dict(st["unet"])
        text_encoder.load_state_dict(st["text_encoder"])
        ema_unet.load_state_dict(st["ema_unet"])
        ema_text.load_state_dict({**text_encoder.state_dict(), **st["ema_text"]})
        opt.load_state_dict(st["opt"])
        start = st["step"]
    sched = toy_model.build_scheduler("ddpm")
    sink: list = []
    unet.set_attn_processor(
        {k: (GroundingAttnProcessor(sink) if "attn2" in k else v) for k, v in unet.attn_processors.items()}
    )
    bar = tqdm(range(start, cfg.steps), desc="unet", initial=start, total=cfg.steps)
    t_last, n_last = time.time(), start
    for step in bar:
        lr = cfg.lr * min(1.0, (step + 1) / cfg.warmup)
        for group in opt.param_groups:
            group["lr"] = lr
        x, ids, targets = make_batch(sampler, tokenizer, cfg.seed, step, cfg.batch_size, cfg.caption_dropout)
        x, ids = x.to(device), ids.to(device)
        g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)  # noise drawn on the CPU: same on any device
        with torch.no_grad():
            post = vae.encode(x).latent_dist
            lat = (
                post.mean + post.std * torch.randn(post.mean.shape, generator=g).to(device)
            ) * vae.config.scaling_factor
        noise = torch.randn(lat.shape, generator=g).to(device)
        t = torch.randint(0, sched.config.num_train_timesteps, (lat.shape[0],), generator=g).to(device)
        noisy = sched.add_noise(lat, noise, t)
        sink.clear()
        pred = unet(noisy, t, text_encoder(ids)[0]).sample
        diff = F.mse_loss(pred, noise)
        keep = (t < cfg.ground_max_t).cpu()
        tok_loss, pix_loss = grounding_losses(sink, targets, keep)
        loss = diff + cfg.ground_weight * tok_loss + cfg.pixel_weight * pix_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(cfg.ema_decay, (1 + step) / (10 + step))
        _ema_update(ema_unet, unet, decay)
        _ema_update(ema_text, text_encoder, decay)
        bar.set_postfix(loss=f"{loss.item():.4f}", diff=f"{diff.item():.4f}", tok=f"{tok_loss.item():.3f}")
        done = step + 1
        if done % 50 == 0:
            now = time.time()
            rate = (done - n_last) / (now - t_last)
            t_last, n_last = now, done
            _log(
                out,
                {
                    "phase": "unet",
                    "step": done,
                    "loss": loss.item(),
                    "diffusion": diff.item(),
                    "token": tok_loss.item(),
                    "pixel": pix_loss.item(),
                    "lr": lr,
                    "steps_per_s": rate,
                    "time": now,
                },
            )
        if done % cfg.eval_every == 0 or done == cfg.steps:
            _log(
                out,
                {
                    "phase": "eval",
                    "step": done,
                    **attention_sharpness(ema_unet, ema_text, vae, tokenizer, sampler, cfg.seed),
                },
            )
        if cfg.accuracy_every and done % cfg.accuracy_every == 0:
            _log_accuracy(cfg, out, done, ema_unet, ema_text, vae, tokenizer)
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            _atomic_save(
                {
                    "unet": unet.state_dict(),
                    "text_encoder": text_encoder.state_dict(),
                    "ema_unet": ema_unet.state_dict(),
                    "ema_text": _without_frozen(ema_text),
                    "opt": opt.state_dict(),
                    "step": done,
                },
                state_path,
            )
            export(out, out / "pipeline")

"""Shared by the side-stream tests: what each side-stream block pass computed beside the block's own kernel call."""

from __future__ import annotations

from daam import streams


def spy_side_keys(monkeypatch, pipe) -> list:
    """Record, at every side-stream pass through a block of ``pipe`` (while it is traced), the side
    tokens' keys and the keys and mask the block's own attention kernel received:
    ``[(side_k, kernel_k, kernel_mask), ...]`` in call order."""
    seen = []
    original = streams.side_qkv

    def spy(block, attn, hidden, temb, rotary):
        q, k, v, mod = original(block, attn, hidden, temb, rotary)
        _, kernel_k, mask, _ = pipe._daam_trace._capture_slot["kernel"]
        seen.append((k, kernel_k, mask))
        return q, k, v, mod

    monkeypatch.setattr(streams, "side_qkv", spy)
    return seen

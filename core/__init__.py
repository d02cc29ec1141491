"""Shared vocabulary below ``baselines`` and ``benchmark``: the one registry, and the rules both
need (COCO classes, thresholds, agreement). It imports nothing of ours but itself."""

"""``python -m daam PROMPT``: the quick look (one image, an overlay per word, a grid).

The command lives in ``benchmark.quicklook`` (it loads pipelines and the shipped toy model, which
the benchmark owns); this entry point only hands over to it, so ``import daam`` stays the pure
library and never imports it (tests/test_package_direction.py allows this one module).
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from benchmark.quicklook import main as quick_look
    except ModuleNotFoundError as e:
        print(
            f"daam: error: the quick look needs the benchmark ({e.name} is missing): pip install 'daam-bench[bench]'",
            file=sys.stderr,
        )
        return 2
    return quick_look()


if __name__ == "__main__":
    sys.exit(main())

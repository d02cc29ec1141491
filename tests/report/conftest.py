"""The stored benchmark the report tests read (built once per test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.report.bench import StoredBench, build_bench


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoredBench]:
    stored = build_bench(tmp_path_factory.mktemp("report"))
    yield stored
    stored.store.close()

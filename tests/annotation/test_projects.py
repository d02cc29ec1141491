"""Finding projects again, readable descriptions and paging, without a server."""

from __future__ import annotations

from dataclasses import dataclass, field

from annotation.client import every_page
from annotation.projects import parse_tag, project_description, tag_line


def test_descriptions_are_readable_text_ending_in_a_tag_line():
    text = project_description("segmentation", "seg-run", {"split": "coco-gen", "model": "tiny-sd", "empty": ""})
    assert text.splitlines() == [
        "The daam-bench **segmentation** study of run **seg-run**.",
        "",
        "- split: coco-gen",
        "- model: tiny-sd",
        "",
        "daam-bench: study=segmentation run=seg-run",
    ]
    assert "{" not in text
    assert parse_tag(text) == ("segmentation", "seg-run")


def test_odd_run_names_survive_the_tag_line():
    for run in ("my run", "a=b run=c", "ünïcode/x", "line\nbreak"):
        assert parse_tag(project_description("rating", run, {})) == ("rating", run)
    assert " " not in tag_line("rating", "my run").split("run=", 1)[1]


def test_projects_made_before_the_tag_line_are_still_found():
    legacy = 'daam-bench project {"run": "r1", "study": "presence"}\nThe daam-bench presence study of run r1.'
    assert parse_tag(legacy) == ("presence", "r1")
    assert parse_tag("someone else's project") is None
    assert parse_tag(None) is None
    assert parse_tag('daam-bench project {"study": 1') is None


@dataclass
class _Response:
    total: int | None = None
    next: str | None = None


@dataclass
class _Pager:
    items: list
    response: _Response = field(default_factory=_Response)


class _Server:
    """Pages of a list; asking past the last page is a failure, as Label Studio's 404."""

    def __init__(self, n: int, cap: int, by: str) -> None:
        self.rows, self.cap, self.by, self.asked = list(range(n)), cap, by, []

    def list(self, page: int, page_size: int) -> _Pager:
        self.asked.append(page)
        size = min(page_size, self.cap)
        items = self.rows[(page - 1) * size : page * size]
        if page > 1 and not items:
            raise AssertionError(f"asked for page {page} past the last")
        more = page * size < len(self.rows)
        response = _Response(total=len(self.rows)) if self.by == "total" else _Response(next="x" if more else None)
        return _Pager(items, response)


def test_paging_stops_at_the_last_page_even_when_the_server_caps_the_page_size():
    for n, cap, by in ((0, 10, "total"), (5, 10, "total"), (10, 10, "total"), (25, 10, "total"), (25, 10, "next")):
        server = _Server(n, cap, by)
        assert every_page("list", server.list, page_size=100) == list(range(n))
        assert server.asked == list(range(1, max(1, -(-n // cap)) + 1))

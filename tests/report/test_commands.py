"""``bench report`` through the project's CLI entry point."""

from __future__ import annotations

from benchmark.cli import main


def test_bench_report_writes_the_chosen_runs(bench, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["report", "--workspace", str(bench.workspace), "--out", str(out), "--runs", "unreal-run"])
    assert code == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "unreal-run" in html and "coco-run" not in html
    assert (out / "report.md").is_file() and not (out / "tables").exists()
    assert f"html: {out / 'report.html'}" in capsys.readouterr().out


def test_bench_report_errors_are_one_line(bench, tmp_path, capsys):
    assert main(["report", "--workspace", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()  # a report never creates a database
    assert main(["report", "--workspace", str(bench.workspace), "--out", str(tmp_path / "o"), "--runs", "nope"]) == 2
    assert "unknown run name 'nope'" in capsys.readouterr().err

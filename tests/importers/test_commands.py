import argparse
import json

import db
from benchmark.importers.commands import register
from tests.importers.release import write_release


def _parse(argv):
    parser = argparse.ArgumentParser(prog="bench")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_import_daam_reports_skipped_folders_with_exit_code_1(tmp_path, capsys):
    root = write_release(tmp_path / "release", tmp_path / "unpickled")
    args = _parse(["import-daam", str(root), "--workspace", str(tmp_path / "ws"), "--run", "paper", "--json"])

    assert args.func(args) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["run"], summary["imported"], summary["masks_added"]) == ("paper", 2, 3)
    assert [p["folder"] for p in summary["problems"]] == ["303"]
    with db.connect(tmp_path / "ws" / "bench.sqlite") as store:
        assert len(store.generations(store.get_run("paper").id, status="done")) == 2


def test_import_daam_text_output_and_start_errors(tmp_path, capsys):
    root = write_release(tmp_path / "release", tmp_path / "unpickled")
    args = _parse(["import-daam", str(root / "101"), "--workspace", str(tmp_path / "ws")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "1 imported" in out and "not imported: 2 heat-map figure file(s)" in out

    args = _parse(["import-daam", str(tmp_path / "nowhere"), "--workspace", str(tmp_path / "ws")])
    assert args.func(args) == 2
    assert "bench: error: no folder at" in capsys.readouterr().err

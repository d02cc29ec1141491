"""Where the annotation platform keeps its files inside a workspace.

A workspace holds ``bench.sqlite``, ``images/`` and ``maps/`` (written by the runner); the
annotation platform adds ``overlays/`` (heat-map overlays shown to raters), ``exports/`` (raw
Label Studio exports, kept beside the parsed judgements) and ``labelstudio/`` (a served
instance: data folder, credentials, log, connection file).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DEFAULT_WORKSPACE = Path("workspace")


class WorkspaceError(ValueError):
    """A path the annotation platform needs is outside the workspace or missing."""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        """The workspace at ``path`` (default ``$BENCH_WORKSPACE`` or ./workspace), resolved."""
        chosen = path or os.environ.get("BENCH_WORKSPACE") or DEFAULT_WORKSPACE
        return cls(Path(chosen).expanduser().resolve())

    @property
    def overlays(self) -> Path:
        return self.root / "overlays"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def labelstudio(self) -> Path:
        return self.root / "labelstudio"

    @property
    def server_data(self) -> Path:
        return self.labelstudio / "data"

    @property
    def credentials_file(self) -> Path:
        return self.labelstudio / "credentials.json"

    @property
    def connection_file(self) -> Path:
        return self.labelstudio / "server.json"

    @property
    def pushed_file(self) -> Path:
        """Which (study, run) pairs were pushed where: status lists these."""
        return self.labelstudio / "pushed.json"

    @property
    def server_log(self) -> Path:
        return self.labelstudio / "server.log"

    def file(self, relative: str) -> Path:
        """The absolute path of a workspace-relative path stored in the database."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise WorkspaceError(f"{relative!r} points outside the workspace {self.root}")
        return path

    def relative(self, path: Path) -> str:
        """``path`` relative to the workspace, POSIX style."""
        try:
            return PurePosixPath(path.resolve().relative_to(self.root)).as_posix()
        except ValueError:
            raise WorkspaceError(f"{path} is not inside the workspace {self.root}") from None

    def record_push(self, study: str, run: str, project_id: int, raters: int) -> None:
        """Remember a push (status lists pushed studies even before any annotation)."""
        records = [r for r in self.pushes() if (r["study"], r["run"]) != (study, run)]
        records.append({"study": study, "run": run, "project_id": project_id, "raters": raters})
        self.pushed_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.pushed_file.with_name(self.pushed_file.name + ".tmp")
        tmp.write_text(json.dumps(records, indent=1))
        tmp.replace(self.pushed_file)

    def pushes(self) -> list[dict]:
        """The recorded pushes: [{"study", "run", "project_id", "raters"}, ...]."""
        if not self.pushed_file.exists():
            return []
        try:
            records = json.loads(self.pushed_file.read_text())
        except ValueError:
            raise WorkspaceError(f"{self.pushed_file} is not valid JSON; delete it and push again") from None
        return [r for r in records if isinstance(r, dict) and {"study", "run"} <= set(r)]

"""Heat-map overlays shown to raters in the rating study, drawn by DAAM into the workspace."""

from __future__ import annotations

from collections.abc import Iterable

from annotation.studies import Task
from annotation.workspace import Workspace


def render_overlays(tasks: Iterable[Task], workspace: Workspace) -> dict[str, str]:
    """Draw each rating task's heat-map overlay into the workspace; returns problems by task key.

    An overlay is redrawn when missing or older than its image or maps file.
    """
    import daam
    from core.files import load_rgb

    problems: dict[str, str] = {}
    for task in tasks:
        if task.overlay_path is None or task.word_map_path is None:
            continue
        out = workspace.file(task.overlay_path)
        image_file = workspace.file(task.image_path)
        maps_file = workspace.file(task.word_map_path)
        try:
            if out.exists() and out.stat().st_mtime >= max(image_file.stat().st_mtime, maps_file.stat().st_mtime):
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            image = load_rgb(image_file)
            word_map = daam.load(maps_file).word_map(task.target, task.target_occurrence)
            tmp = out.with_name(out.name + ".tmp.png")
            word_map.to_png(tmp, image=image)
            tmp.replace(out)
        except (OSError, ValueError, KeyError) as exc:
            problems[task.key] = f"cannot draw the heat map of {task.target!r} from {task.word_map_path}: {exc}"
    return problems

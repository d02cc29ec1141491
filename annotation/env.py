"""The Label Studio server's own virtual environment and its template data folder.

The server pins packages (numpy, pytz, opencv...) that must not mix with the project's
environment, so it lives in a separate venv that is created on first use.  Both live in the
user's cache folder (``platformdirs.user_cache_dir("daam-bench")``), never beside the code: an
installed package must not write into site-packages.  Both are built under a file lock, so two
processes (two test sessions, a test and a ``bench annotate serve``) that race wait for one
build instead of corrupting it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LABEL_STUDIO_VERSION = "1.23.2"
VENV_ENV = "BENCH_LABEL_STUDIO_VENV"
TEMPLATE_ENV = "BENCH_LABEL_STUDIO_TEMPLATE"
CACHE_ENV = "DAAM_BENCH_CACHE"  # as benchmark/pipelines.py
APP_NAME = "daam-bench"
_STAMP = ".bench-label-studio"
_INSTALL_TIMEOUT_S = 1800


# Settings Label Studio also reads under bare names: a user's $PORT or $DEBUG must not leak in.
_BARE_SETTINGS = ("USERNAME", "PASSWORD", "PORT", "HOST", "DEBUG")
# Our own environment must not leak in either (PYTHONPATH would shadow its apps with ours).
_OURS = ("PYTHONPATH", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PYTHONHOME")


# Error reporting and usage analytics off: a local study server reports to nobody.  Label
# Studio reads each setting as LABEL_STUDIO_<name> first, then HEARTEX_<name>, then <name>, so
# the prefixed names win over anything a user's environment holds.  An empty DSN disables
# Sentry in the server and in the browser (label_studio/core/settings/label_studio.py).
QUIET_SETTINGS = {
    "LABEL_STUDIO_SENTRY_DSN": "",
    "LABEL_STUDIO_SENTRY_RATE": "0",
    "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
    "LABEL_STUDIO_FRONTEND_SENTRY_RATE": "0",
    "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
    "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
    "LABEL_STUDIO_FEATURE_FLAGS_OFFLINE": "true",
}


class ServerEnvError(RuntimeError):
    """The server's environment could not be created or is broken."""


def cache_root() -> Path:
    """$DAAM_BENCH_CACHE, else the user's cache folder for daam-bench (platformdirs)."""
    chosen = os.environ.get(CACHE_ENV)
    if not chosen:
        from platformdirs import user_cache_dir

        chosen = user_cache_dir(APP_NAME)
    return Path(chosen).expanduser().resolve()


def server_env_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The argument, else $BENCH_LABEL_STUDIO_VENV, else ``<cache>/labelstudio-venv``."""
    chosen = path or os.environ.get(VENV_ENV) or cache_root() / "labelstudio-venv"
    return Path(chosen).expanduser().resolve()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock held for the ``with`` body (blocks until free)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def label_studio_executable(venv: Path) -> Path:
    return venv / "bin" / "label-studio"


def ensure_server_env(path: str | os.PathLike[str] | None = None, *, log=None) -> Path:
    """Create the server venv with ``label-studio==LABEL_STUDIO_VERSION`` when missing.

    Returns the ``label-studio`` executable.  Idempotent: a stamp file written after a
    successful install marks the venv as ready; a half-built venv (no stamp) is rebuilt.
    """
    venv = server_env_path(path)
    stamp = venv / _STAMP
    exe = label_studio_executable(venv)
    if _ready(stamp, exe):
        return exe
    with file_lock(venv.with_name(venv.name + ".lock")):
        if _ready(stamp, exe):  # another process finished while we waited
            return exe
        started = time.monotonic()
        if log:
            log(f"installing label-studio {LABEL_STUDIO_VERSION} into {venv} (about 2 minutes, once)")
        if venv.exists():
            shutil.rmtree(venv)
        install_log = venv.with_name(venv.name + ".install.log")
        with open(install_log, "w") as out:
            _run([_base_python(), "-m", "venv", str(venv)], out, venv)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
            _run(pip + ["install", f"label-studio=={LABEL_STUDIO_VERSION}"], out, venv)
        if not exe.exists():
            raise ServerEnvError(f"{exe} is missing after installing label-studio; see {install_log}")
        stamp.write_text(LABEL_STUDIO_VERSION + "\n")
        if log:
            log(f"installed label-studio in {time.monotonic() - started:.0f} s")
    return exe


def _ready(stamp: Path, exe: Path) -> bool:
    return exe.exists() and stamp.exists() and stamp.read_text().strip() == LABEL_STUDIO_VERSION


def _base_python() -> str:
    """The interpreter behind the current one (a venv made from a venv works, but is fragile)."""
    base = Path(sys.base_prefix) / "bin" / "python3"
    return str(base) if base.exists() else sys.executable


def _run(command: list[str], out, venv: Path) -> None:
    out.write(f"$ {' '.join(command)}\n")
    out.flush()
    try:
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=_INSTALL_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise ServerEnvError(f"creating the Label Studio environment at {venv} failed ({exc}); see {out.name}") from exc


def server_process_env(data_dir: Path, settings: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a Label Studio process runs with: ours minus anything it would misread.

    Every inherited ``LABEL_STUDIO_*`` variable goes too (a user's API key among them), so the
    server sees only the settings we pass.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _BARE_SETTINGS and k not in _OURS and not k.startswith("LABEL_STUDIO_")
    }
    env.update(QUIET_SETTINGS)
    env.update({"LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    env.update(settings or {})
    return env


def template_root() -> Path:
    """$BENCH_LABEL_STUDIO_TEMPLATE, else ``<cache>/labelstudio-template``."""
    chosen = os.environ.get(TEMPLATE_ENV) or cache_root() / "labelstudio-template"
    return Path(chosen).expanduser().resolve()


def ensure_template(exe: Path | None = None, root: Path | None = None, *, log=None) -> Path:
    """A data folder with every migration applied and no user, built once per version.

    Starting from a copy takes ~11 s instead of the ~80 s of migrations.  The folder keeps no
    secret key: each copy's server makes its own.
    """
    root = root or template_root()
    folder = root / LABEL_STUDIO_VERSION
    marker = folder / _STAMP
    if marker.exists():
        return folder
    exe = exe or ensure_server_env(log=log)
    with file_lock(root / f"{LABEL_STUDIO_VERSION}.lock"):
        if marker.exists():
            return folder
        started = time.monotonic()
        if log:
            log(f"building the Label Studio data template in {folder} (about a minute, once)")
        building = root / f"{LABEL_STUDIO_VERSION}.building"
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        building.mkdir(parents=True)
        with open(root / f"{LABEL_STUDIO_VERSION}.init.log", "w") as out:
            command = [str(exe), "init", "--quiet", "--data-dir", str(building)]
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            try:
                subprocess.run(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=_INSTALL_TIMEOUT_S,
                    env=server_process_env(building),
                    cwd=building,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise ServerEnvError(f"label-studio init failed ({exc}); see {out.name}") from exc
        (building / ".env").unlink(missing_ok=True)
        (building / _STAMP).write_text(LABEL_STUDIO_VERSION + "\n")
        building.rename(folder)
        if log:
            log(f"built the template in {time.monotonic() - started:.0f} s")
    return folder


def copy_template(destination: Path, template: Path | None = None) -> Path:
    """Fill a new server data folder from the template (``destination`` must not exist)."""
    template = template or ensure_template()
    if destination.exists() and any(destination.iterdir()):
        raise ServerEnvError(f"{destination} is not empty; refusing to overwrite a server's data")
    shutil.copytree(template, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns(_STAMP))
    return destination

"""`bench annotate serve`: run Label Studio (annotation.labelstudio) until asked to stop.

The workspace's images are the server's local-files document root, so tasks point at them in
place.  The admin password and token live in ``labelstudio/credentials.json`` (mode 0600) and
are never printed; ``labelstudio/server.json`` tells push and pull where the server is.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable

from annotation.env import ensure_server_env
from annotation.labelstudio import LabelStudioServer, ServerError, is_healthy, load_or_create_credentials
from annotation.workspace import Workspace


def serve(
    workspace: Workspace,
    *,
    port: int | None = None,
    out: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> int:
    """Start the server, print how to reach it, block until SIGTERM/SIGINT (or ``stop``)."""
    info = workspace.connection_file
    if info.exists():
        try:
            url = json.loads(info.read_text()).get("url", "")
        except ValueError:
            url = ""
        if url and is_healthy(url):
            raise ServerError(f"a server for this workspace already runs at {url}; stop it first")
        info.unlink()
    if workspace.server_data.exists() and not workspace.credentials_file.exists():
        raise ServerError(
            f"{workspace.server_data} exists but its credentials file "
            f"{workspace.credentials_file} is gone; remove the data folder to start afresh"
        )
    workspace.root.mkdir(parents=True, exist_ok=True)
    exe = ensure_server_env(log=out)
    credentials = load_or_create_credentials(workspace.credentials_file)
    stop = stop or threading.Event()
    restore = _on_signals(stop)
    out("starting Label Studio (about 15 s; a new data folder takes a minute more once)")
    server = LabelStudioServer.start(
        workspace.server_data, workspace.root, credentials, port=port, log_path=workspace.server_log, exe=exe
    )
    try:
        fd = os.open(info, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"url": server.url, "pid": server.process.pid}, handle)
        out(f"Label Studio is running at {server.url}")
        out(
            f"log in as {credentials.email}; the password is in {workspace.credentials_file} "
            '(field "password"), and `bench annotate push|pull` find this server by themselves'
        )
        out(f"server log: {server.log_path}; stop with Ctrl-C or SIGTERM")
        while not stop.wait(1.0):
            if not server.running:
                raise ServerError(
                    f"Label Studio exited unexpectedly (code {server.process.returncode}); "
                    f"last log lines:\n{server.log_tail()}"
                )
    finally:
        code = server.stop()
        info.unlink(missing_ok=True)
        restore()
        ended = "" if code in (0, -signal.SIGTERM) else f" (exit code {code})"
        out(f"Label Studio stopped{ended}")
    return 0


def _on_signals(stop: threading.Event) -> Callable[[], None]:
    """Let SIGTERM and SIGINT end the wait; returns a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore

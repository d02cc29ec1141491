"""The Label Studio server process on loopback: start headless with an admin token, wait, stop.

The server runs from its own virtual environment (annotation.env).  It reads a few settings
from the environment and silently moves to the next port when its port is taken, so we pick a
free port ourselves, poll that one, and fail loudly if the server went elsewhere.  Its output
goes through ``redact`` into a log file.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from annotation.env import copy_template, ensure_server_env, server_process_env
from annotation.redact import redact, register_secret

LOOPBACK = "127.0.0.1"
ADMIN_EMAIL = "admin@daam-bench.local"
_DB_FILE = "label_studio.sqlite3"


class ServerError(RuntimeError):
    """The Label Studio server did not start, answer or stop as it should."""


@dataclass(frozen=True)
class Credentials:
    """The admin login of a served instance; ``repr`` never shows the secrets."""

    email: str
    password: str = field(repr=False)
    token: str = field(repr=False)

    @classmethod
    def generate(cls, email: str = ADMIN_EMAIL) -> Credentials:
        return cls(email, secrets.token_urlsafe(18), secrets.token_hex(20))


def load_or_create_credentials(path: Path) -> Credentials:
    """The credentials stored at ``path`` (0600), made and stored on first use."""
    if path.exists():
        try:
            data = json.loads(path.read_text())
            creds = Credentials(data["email"], data["password"], data["token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ServerError(
                f"{path} is not a valid credentials file ({type(exc).__name__}); "
                "delete it together with the server data folder"
            ) from None
    else:
        creds = Credentials.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"email": creds.email, "password": creds.password, "token": creds.token}, out)
    os.chmod(path, 0o600)
    register_secret(creds.password)
    register_secret(creds.token)
    return creds


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``<url>/health`` answers ``{"status": "UP"}``."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200 and b"UP" in response.read()
    except (urllib.error.URLError, OSError, ValueError):
        return False


def check_token(url: str, token: str, timeout: float = 10.0) -> None:
    """Raise ServerError unless ``token`` is accepted (legacy tokens off gives 401)."""
    request = urllib.request.Request(
        f"{url.rstrip('/')}/api/current-user/whoami", headers={"Authorization": f"Token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        raise ServerError(
            f"Label Studio at {url} refused the admin token (HTTP {exc.code}); the data folder "
            "was probably made without legacy API tokens or with another token"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ServerError(redact(f"Label Studio at {url} did not answer: {exc}")) from None


class LabelStudioServer:
    """One running ``label-studio start`` process; use as a context manager or call ``stop``."""

    def __init__(
        self, process: subprocess.Popen, url: str, credentials: Credentials, data_dir: Path, log_path: Path
    ) -> None:
        self.process = process
        self.url = url
        self.credentials = credentials
        self.data_dir = data_dir
        self.log_path = log_path
        self._recent: deque[str] = deque(maxlen=200)  # this process's last lines, redacted
        self._reader = threading.Thread(target=self._copy_output, daemon=True)
        self._reader.start()

    def __repr__(self) -> str:
        return f"LabelStudioServer(url={self.url!r}, pid={self.process.pid}, data_dir={str(self.data_dir)!r})"

    @property
    def token(self) -> str:
        return self.credentials.token

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @classmethod
    def start(
        cls,
        data_dir: Path,
        document_root: Path,
        credentials: Credentials,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        exe: Path | None = None,
        template: Path | None = None,
        timeout: float = 600.0,
    ) -> LabelStudioServer:
        """Start a server on loopback and wait until it answers with the admin token.

        A new ``data_dir`` is filled from the template first.  ``timeout`` covers a first start
        that must run migrations (~80 s on two idle cores, more under load).
        """
        exe = exe or ensure_server_env()
        data_dir = Path(data_dir).resolve()
        if not (data_dir / _DB_FILE).exists():
            copy_template(data_dir, template)
        log_path = Path(log_path or data_dir.parent / "server.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        register_secret(credentials.token)
        register_secret(credentials.password)
        for attempt in range(3):
            chosen = port or free_port()
            server = cls._spawn(exe, data_dir, Path(document_root).resolve(), credentials, chosen, log_path)
            try:
                server._wait(timeout)
                return server
            except _PortTaken:
                server.stop()
                if port is not None or attempt == 2:
                    raise ServerError(f"port {chosen} on {LOOPBACK} is taken; choose another") from None
            except BaseException:
                server.stop()
                raise
        raise AssertionError("unreachable")

    @classmethod
    def _spawn(
        cls, exe: Path, data_dir: Path, document_root: Path, credentials: Credentials, port: int, log_path: Path
    ) -> LabelStudioServer:
        env = server_process_env(
            data_dir,
            {
                "LABEL_STUDIO_USERNAME": credentials.email,
                "LABEL_STUDIO_PASSWORD": credentials.password,
                "LABEL_STUDIO_USER_TOKEN": credentials.token,
                "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
                "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
                "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
                "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(document_root),
            },
        )
        command = [
            str(exe),
            "start",
            "--no-browser",
            "--internal-host",
            LOOPBACK,
            "--port",
            str(port),
            "--enable-legacy-api-token",
        ]
        # Own session: a Ctrl-C meant for the CLI does not reach the server before we stop it.
        process = subprocess.Popen(
            command,
            env=env,
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        return cls(process, f"http://{LOOPBACK}:{port}", credentials, data_dir, log_path)

    def _copy_output(self) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            for raw in self.process.stdout:
                line = redact(raw.decode("utf-8", errors="replace"))
                self._recent.append(line.rstrip("\n"))
                log.write(line)
                log.flush()

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        port = self.url.rsplit(":", 1)[1]
        while time.monotonic() < deadline:
            if not self.running:
                raise ServerError(
                    f"Label Studio exited with code {self.process.returncode} "
                    f"while starting; last log lines:\n{self.log_tail()}"
                )
            if is_healthy(self.url):
                check_token(self.url, self.token)
                return
            if f"Port {port} is in use" in self.log_tail(40):
                raise _PortTaken()
            time.sleep(0.5)
        raise ServerError(
            f"Label Studio did not answer on {self.url} within {timeout:.0f} s; last log lines:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 15) -> str:
        """The last lines this process printed (already redacted)."""
        return "\n".join(list(self._recent)[-lines:]) or "(nothing printed)"

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (the server ignores SIGINT when in the background), then SIGKILL."""
        if self.running:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(10)
        self._reader.join(5)
        return self.process.returncode

    def __enter__(self) -> LabelStudioServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class _PortTaken(Exception):
    pass


def _die_with_parent() -> None:
    """Linux: SIGTERM the server if its starter dies without stopping it (no orphans)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # its own session, so the group is the server alone
    except ProcessLookupError:
        pass

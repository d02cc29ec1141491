"""The server's environment, credentials and redaction, without starting a server."""

from __future__ import annotations

import json
import stat
import threading
import time
from pathlib import Path

import pytest

from annotation import env
from annotation.labelstudio import Credentials, free_port, load_or_create_credentials
from annotation.redact import MASK, redact, register_secret


def test_redact_masks_every_registered_secret():
    secret = "s3cr3t-token-0123456789"
    assert redact(f"token {secret}!") == f"token {secret}!"  # not known yet
    register_secret(secret)
    register_secret("abc")  # too short to mask safely: ignored
    assert redact(f"Authorization: Token {secret}; again {secret}") == (f"Authorization: Token {MASK}; again {MASK}")
    assert redact("abc def") == "abc def"
    assert redact(ValueError(secret)) == MASK


def test_credentials_file_is_private_and_reused(tmp_path):
    path = tmp_path / "ls" / "credentials.json"
    first = load_or_create_credentials(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_credentials(path) == first
    assert set(json.loads(path.read_text())) == {"email", "password", "token"}
    assert first.token not in repr(first) and first.password not in repr(first)
    assert redact(f"x {first.token} {first.password}") == f"x {MASK} {MASK}"
    path.write_text("{not json")
    with pytest.raises(Exception, match="not a valid credentials file"):
        load_or_create_credentials(path)


def test_generated_tokens_differ():
    assert Credentials.generate().token != Credentials.generate().token


def test_server_env_drops_bare_settings_and_inherited_label_studio_variables(monkeypatch, tmp_path):
    for name in ("USERNAME", "PASSWORD", "PORT", "HOST", "DEBUG", "PYTHONPATH"):
        monkeypatch.setenv(name, "leak")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "my-own-key-123456")
    monkeypatch.setenv("KEEP_ME", "1")
    child = env.server_process_env(tmp_path, {"LABEL_STUDIO_USERNAME": "a@b.c"})
    for name in ("USERNAME", "PASSWORD", "PORT", "HOST", "DEBUG", "PYTHONPATH", "LABEL_STUDIO_API_KEY"):
        assert name not in child
    assert child["KEEP_ME"] == "1" and child["LABEL_STUDIO_USERNAME"] == "a@b.c"
    assert child["LABEL_STUDIO_BASE_DATA_DIR"] == str(tmp_path)


def test_server_env_path_setting(monkeypatch, tmp_path):
    monkeypatch.delenv(env.VENV_ENV, raising=False)
    monkeypatch.setenv(env.CACHE_ENV, str(tmp_path / "cache"))
    assert env.server_env_path() == tmp_path / "cache" / "labelstudio-venv"
    monkeypatch.setenv(env.VENV_ENV, str(tmp_path / "v"))
    assert env.server_env_path() == tmp_path / "v"
    assert env.server_env_path(tmp_path / "w") == tmp_path / "w"


def test_concurrent_ensure_installs_once(monkeypatch, tmp_path):
    """Two racing callers: one builds under the lock, the other waits and reuses it."""
    calls = []

    def fake_run(command, out, venv):
        calls.append(command[-1])
        time.sleep(0.2)
        if command[1:3] == ["-m", "venv"]:
            (venv / "bin").mkdir(parents=True)
        else:
            (venv / "bin" / "label-studio").write_text("#!/bin/sh\n")

    monkeypatch.setattr(env, "_run", fake_run)
    venv = tmp_path / "server-venv"
    results = []
    threads = [threading.Thread(target=lambda: results.append(env.ensure_server_env(venv))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [venv / "bin" / "label-studio"] * 2
    assert calls == [str(venv), f"label-studio=={env.LABEL_STUDIO_VERSION}"]
    assert env.ensure_server_env(venv) == results[0] and len(calls) == 2  # ready: nothing runs


def test_half_built_env_is_rebuilt(monkeypatch, tmp_path):
    venv = tmp_path / "v"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "label-studio").write_text("")  # no stamp: an interrupted install
    calls = []

    def fake_run(command, out, venv_):
        calls.append(command)
        if command[1:3] == ["-m", "venv"]:
            assert not venv_.exists()  # the broken one was removed first
            (venv_ / "bin").mkdir(parents=True)
        else:
            (venv_ / "bin" / "label-studio").write_text("")

    monkeypatch.setattr(env, "_run", fake_run)
    env.ensure_server_env(venv)
    assert len(calls) == 2


def test_free_port_is_bindable():
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_server_env_and_template_live_in_the_user_cache_not_beside_the_code(monkeypatch):
    from platformdirs import user_cache_dir

    for name in (env.CACHE_ENV, env.VENV_ENV, env.TEMPLATE_ENV):
        monkeypatch.delenv(name, raising=False)
    cache = Path(user_cache_dir("daam-bench")).resolve()
    assert env.server_env_path() == cache / "labelstudio-venv"
    assert env.template_root() == cache / "labelstudio-template"
    code = Path(env.__file__).resolve().parent.parent
    assert not env.server_env_path().is_relative_to(code) and not env.template_root().is_relative_to(code)


def test_server_env_turns_off_error_reporting_and_analytics_whatever_the_user_set(monkeypatch, tmp_path):
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.example/1")
    monkeypatch.setenv("HEARTEX_SENTRY_DSN", "https://key@sentry.example/2")
    monkeypatch.setenv("COLLECT_ANALYTICS", "true")
    child = env.server_process_env(tmp_path)
    # Label Studio reads LABEL_STUDIO_<name> before HEARTEX_<name> and <name>
    assert child["LABEL_STUDIO_SENTRY_DSN"] == "" and child["LABEL_STUDIO_FRONTEND_SENTRY_DSN"] == ""
    assert child["LABEL_STUDIO_SENTRY_RATE"] == "0"
    assert child["LABEL_STUDIO_COLLECT_ANALYTICS"] == "false"
    assert child["LABEL_STUDIO_LATEST_VERSION_CHECK"] == "false"

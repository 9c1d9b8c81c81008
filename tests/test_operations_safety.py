"""Operating safely: production refuses to start half-configured, Redis being down keeps
the site up, and `make clean` never deletes the data."""
from __future__ import annotations

import logging
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from surveyapp import create_app
from tests.conftest import app_config, campaign_maker, sqlite_copy
from tests.helpers import URL, payload

ROOT = Path(__file__).resolve().parent.parent


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_down_keeps_pages_and_the_api_up_and_limits_fall_back(
        tmp_path, sqlite_template, monkeypatch, caplog):
    monkeypatch.setenv("SURVEYAPP_RATELIMIT_STORAGE_URI", f"redis://127.0.0.1:{closed_port()}")
    """The storage URI comes from the environment, as in a deployment."""
    app = create_app({**app_config(sqlite_copy(sqlite_template, tmp_path), tmp_path),
                      "RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "3/minute"})
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://127.0.0.1:")
    code = campaign_maker(app)()
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        assert client.get("/login").status_code == 200
        assert client.get(f"/s/{code}").status_code == 200
        statuses = [client.post(URL, json=payload(code)).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]  # counted in memory meanwhile
    warnings = [r.getMessage() for r in caplog.records if r.name == "flask-limiter"]
    assert any("storage unreachable" in message for message in warnings), warnings


def production_config(tmp_path, sqlite_template, **overrides) -> dict:
    return {**app_config(sqlite_copy(sqlite_template, tmp_path), tmp_path), "ENV": "production",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", **overrides}


@pytest.mark.parametrize("overrides, variable", [
    ({"SECRET_KEY": ""}, "SURVEYAPP_SECRET_KEY"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "SURVEYAPP_RATELIMIT_STORAGE_URI"),
    ({"RATELIMIT_STORAGE_URI": "worker-memory://"}, "SURVEYAPP_RATELIMIT_STORAGE_URI"),
])
def test_production_refuses_to_start_half_configured(tmp_path, sqlite_template, overrides, variable):
    from surveyapp.config import ConfigurationError
    with pytest.raises(ConfigurationError, match=variable):
        create_app(production_config(tmp_path, sqlite_template, **overrides))
    assert not (tmp_path / "secret_key").exists()  # no key of its own was minted


def test_production_refusal_is_a_clear_message_from_the_command_line(tmp_path):
    import os
    import sys
    env = {key: value for key, value in os.environ.items() if not key.startswith("SURVEYAPP_")}
    env.update(SURVEYAPP_ENV="production", SURVEYAPP_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
               SURVEYAPP_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379")
    done = subprocess.run([str(Path(sys.executable).parent / "surveyapp"), "routes"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SURVEYAPP_SECRET_KEY" in done.stderr + done.stdout


def test_production_sends_hsts_and_a_samesite_remember_cookie(tmp_path, sqlite_template):
    from tests.helpers import PASSWORD, make_user
    from tests.helpers import hidden
    app = create_app(production_config(tmp_path, sqlite_template))
    make_user(app, "a@example.org", "admin")
    client = app.test_client()
    page = client.get("/login")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    reply = client.post("/login", data={"csrf_token": hidden(page.text, "csrf_token"),
                                        "email": "a@example.org", "password": PASSWORD,
                                        "remember": "y"})
    remember = next(c for c in reply.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "SameSite=Lax" in remember and "Secure" in remember and "HttpOnly" in remember


def test_development_sends_no_hsts(sqlite_app):
    assert "Strict-Transport-Security" not in sqlite_app.test_client().get("/login").headers


def _make_sandbox(tmp_path: Path) -> Path:
    """A copy of the Makefile beside a fake venv, database, key and artifacts."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in (".venv/bin", "instance", "tests/artifacts"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "instance" / "surveyapp.db").write_text("data")
    (tmp_path / "instance" / "secret_key").write_text("key")
    (tmp_path / "tests" / "artifacts" / "trace.zip").write_text("trace")
    return tmp_path


def test_make_clean_keeps_the_database_and_the_key(tmp_path):
    """Runs make in a temporary copy: nothing of the real checkout is touched."""
    sandbox = _make_sandbox(tmp_path)
    subprocess.run(["make", "-s", "clean"], cwd=sandbox, check=True, capture_output=True, timeout=30)
    assert not (sandbox / ".venv").exists() and not (sandbox / "tests" / "artifacts").exists()
    assert (sandbox / "instance" / "surveyapp.db").read_text() == "data"
    assert (sandbox / "instance" / "secret_key").read_text() == "key"


@pytest.mark.parametrize("answer, kept", [("n\n", True), ("\n", True), ("yes\n", False)])
def test_make_clean_data_asks_first(tmp_path, answer, kept):
    sandbox = _make_sandbox(tmp_path)
    done = subprocess.run(["make", "-s", "clean-data"], cwd=sandbox, input=answer, text=True,
                          capture_output=True, timeout=30)
    assert "instance/" in done.stdout
    assert (sandbox / "instance").exists() == kept
    assert (sandbox / ".venv").exists()

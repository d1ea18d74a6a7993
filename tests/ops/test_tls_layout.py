"""TLS in front: the rendered layout (web on loopback, Caddy site validated by caddy itself),
the web app behind the proxy (Secure cookies, HSTS, client address from loopback proxies only)
and doctor's warning for a web app listening beyond loopback."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
from opscli import root_cli

from bookedbiz.db.migrate import init_database
from bookedbiz.deploy.doctor import check_exposure
from bookedbiz.deploy.listeners import is_loopback, listening_addresses
from bookedbiz.deploy.render import DeployParams, render_files
from bookedbiz.errors import ConfigError
from bookedbiz.web import create_app

DATA = "/var/lib/bookedbiz"


def _render(tmp_path: Path, runner, *extra: str) -> Path:  # noqa: ANN001
    out = tmp_path / "out"
    result = runner.invoke(root_cli(), ["deploy", "render", "--prefix", "/opt/bookedbiz",
                                        "--data-dir", DATA, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def _caddy_validate(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "caddy-home"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config")}
    return subprocess.run(["caddy", "validate", "--config", str(path), "--adapter",
                           "caddyfile"], capture_output=True, text=True, env=env, timeout=60)


def test_rendered_layout_web_on_loopback_behind_tls(tmp_path: Path, runner) -> None:
    out = _render(tmp_path, runner, "--server-name", "bookedbiz.example.org",
                  "--server-name", "revenue.station.lan")
    web = (out / "systemd" / "bookedbiz-web.service").read_text()
    assert "serve --host 127.0.0.1 --port 8000" in web and "0.0.0.0" not in web
    env = (out / "etc" / "bookedbiz.env").read_text()
    assert "\nBEHIND_TLS_PROXY=1\n" in env
    caddy = (out / "caddy" / "Caddyfile").read_text()
    assert "bookedbiz.example.org, revenue.station.lan {" in caddy
    assert "reverse_proxy 127.0.0.1:8000" in caddy and "tls internal" in caddy
    assert "8001" not in caddy  # the explorer is not published
    install = (out / "install.sh").read_text()
    assert "caddy validate" in install and "/etc/caddy/Caddyfile" in install
    assert subprocess.run(["bash", "-n", str(out / "install.sh")]).returncode == 0


def test_rendered_caddyfile_passes_caddy_validate(tmp_path: Path, runner) -> None:
    if shutil.which("caddy") is None:
        pytest.skip("caddy missing (scripts/test.sh installs Debian's caddy)")
    for extra in ([], ["--acme-email", "ops@example.org"],
                  ["--tls-cert", "/etc/ssl/bookedbiz.pem", "--tls-key", "/etc/ssl/bookedbiz.key"]):
        folder = tmp_path / str(len(extra))
        folder.mkdir()
        out = _render(folder, runner, "--server-name", "bookedbiz.example.org", *extra)
        caddyfile = out / "caddy" / "Caddyfile"
        if extra and extra[0] == "--tls-cert":
            assert "tls /etc/ssl/bookedbiz.pem /etc/ssl/bookedbiz.key" in caddyfile.read_text()
            continue  # caddy validate would load the (absent) certificate files
        result = _caddy_validate(caddyfile, folder)
        assert result.returncode == 0, result.stderr
        assert "Valid configuration" in result.stdout + result.stderr
    # the validator really validates: a broken site is refused
    broken = tmp_path / "Broken"
    broken.write_text("bookedbiz.example.org {\n\treverse_proxy {\n\t\tno_such_option 1\n\t}\n}\n")
    assert _caddy_validate(broken, tmp_path).returncode != 0


def test_render_refuses_unsafe_tls_parameters(tmp_path: Path, runner) -> None:
    for bad in (["--server-name", "evil.example { }"], ["--server-name", "-x"],
                ["--tls-cert", "/etc/ssl/c.pem"], ["--acme-email", "not-an-address"],
                ["--tls-cert", "rel.pem", "--tls-key", "/k.pem"]):
        result = runner.invoke(root_cli(), ["deploy", "render", "--data-dir", DATA,
                                            "--out", str(tmp_path / "o"), *bad])
        assert result.exit_code == 2, (bad, result.output)
    with pytest.raises(ConfigError):
        render_files(DeployParams(Path("/opt/b"), "bookedbiz", Path(DATA), server_names=()))


# ------------------------------------------------------------ the web app behind the proxy

@pytest.fixture()
def web_db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "bookedbiz.db"
    init_database(path)
    return path


def _app(db: Path, behind: bool):  # noqa: ANN202
    return create_app({"DATABASE_PATH": str(db), "DATA_PATH": str(db.parent),
                       "SECRET_KEY": "k" * 40, "BEHIND_TLS_PROXY": behind,
                       "WTF_CSRF_ENABLED": False})


def _failed_login(app, remote: str, forwarded: str | None) -> str:  # noqa: ANN001
    headers = {"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"} if forwarded else {}
    client = app.test_client()
    response = client.post("/login", data={"username": "nobody", "password": "wrong"},
                           headers=headers, environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == 401
    conn = sqlite3.connect(app.config["DATABASE_PATH"])
    try:
        keys = [r[0] for r in conn.execute(
            "SELECT throttle_key FROM login_failures WHERE throttle_key LIKE 'pair:%' "
            "ORDER BY failure_id DESC LIMIT 1")]
    finally:
        conn.close()
    return keys[0].rsplit("|", 1)[1]


def test_behind_proxy_cookies_secure_hsts_and_client_address(web_db: Path) -> None:
    app = _app(web_db, behind=True)
    client = app.test_client()
    page = client.get("/login", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                      headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    cookies = page.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies)
    # from the local proxy: the client address is the forwarded one
    assert _failed_login(app, "127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert _failed_login(app, "::1", "198.51.100.4") == "198.51.100.4"
    # from anyone else, a forged header is ignored: the throttle keys on the real peer
    assert _failed_login(app, "192.0.2.50", "203.0.113.9") == "192.0.2.50"


def test_without_proxy_no_forwarded_headers_are_believed(web_db: Path) -> None:
    app = _app(web_db, behind=False)
    page = app.test_client().get("/login")
    assert "Strict-Transport-Security" not in page.headers
    assert not any("Secure" in c for c in page.headers.getlist("Set-Cookie"))
    assert _failed_login(app, "127.0.0.1", "203.0.113.9") == "127.0.0.1"


# ------------------------------------------------------------ doctor

def _listen(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(1)
    return sock


def test_listening_addresses_from_proc() -> None:
    if listening_addresses(1) is None:
        pytest.skip("no /proc/net/tcp on this system")
    with _listen("0.0.0.0") as wide, _listen("127.0.0.1") as local:
        assert listening_addresses(wide.getsockname()[1]) == ["0.0.0.0"]
        assert listening_addresses(local.getsockname()[1]) == ["127.0.0.1"]
    assert is_loopback("::1") and is_loopback("::ffff:127.0.0.1") and not is_loopback("::")


def test_doctor_warns_about_plain_http_beyond_loopback(ops_settings) -> None:  # noqa: ANN001
    if listening_addresses(1) is None:
        pytest.skip("no /proc/net/tcp on this system")
    with _listen("0.0.0.0") as wide:
        [check] = check_exposure(ops_settings, wide.getsockname()[1])
    assert check.level == "warn" and "plain HTTP" in check.detail
    assert "127.0.0.1" in check.fix
    proxied = ops_settings.model_copy(update={"behind_tls_proxy": True})
    with _listen("127.0.0.1") as local:
        [check] = check_exposure(proxied, local.getsockname()[1])
    assert check.level == "ok" and "loopback only" in check.detail

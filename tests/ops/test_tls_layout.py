"""TLS in front: the rendered layout (web on loopback, Caddy site validated by caddy itself),
the web app behind the proxy (Secure cookies, HSTS, client address from loopback proxies only)
and doctor's warning for a web app listening beyond loopback."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
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


# ------------------------------------------------------------ the layout, running

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check, what: str, proc: subprocess.Popen, seconds: float = 40) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not check():
        assert proc.poll() is None, f"{what} exited: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.2)


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "-k", "--max-time", "10", *args],
                          capture_output=True, text=True, timeout=30)


def test_caddy_in_front_of_the_real_web_app(tmp_path: Path, runner, web_db: Path) -> None:
    """The rendered Caddyfile (on test ports) in front of the real uvicorn web app: HTTPS,
    http redirected, HSTS and Secure cookies, and a forged X-Forwarded-For does not reach the
    sign-in throttle (Caddy replaces it; the app believes only its loopback proxy)."""
    if shutil.which("caddy") is None or shutil.which("curl") is None:
        pytest.skip("caddy or curl missing (scripts/test.sh installs Debian's caddy)")
    web_port, https_port, http_port = _free_port(), _free_port(), _free_port()
    name = "bookedbiz.test"
    out = _render(tmp_path, runner, "--server-name", name, "--web-port", str(web_port))
    caddyfile = out / "caddy" / "Caddyfile"
    text = caddyfile.read_text()
    assert "{\n\tadmin localhost:2019\n}" in text
    caddyfile.write_text(text.replace(  # same site, unprivileged ports, no system trust store
        "{\n\tadmin localhost:2019\n}",
        f"{{\n\tadmin off\n\thttp_port {http_port}\n\thttps_port {https_port}\n"
        "\tskip_install_trust\n}"))
    home = tmp_path / "caddy-home"
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("DATABASE_PATH", "DATA_PATH", "BEHIND_", "SECRET_KEY"))}
    web_env = dict(base_env, BEHIND_TLS_PROXY="1", SECRET_KEY="s" * 40,
                   DATA_PATH=str(web_db.parent), PYTHONUNBUFFERED="1")
    caddy_env = dict(base_env, HOME=str(home), XDG_DATA_HOME=str(home / "data"),
                     XDG_CONFIG_HOME=str(home / "config"))
    web = subprocess.Popen([sys.executable, "-m", "bookedbiz", "serve", "--host", "127.0.0.1",
                            "--port", str(web_port), "--db", str(web_db)], env=web_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    caddy = None
    try:
        _wait(lambda: _curl(f"http://127.0.0.1:{web_port}/health").returncode == 0, "web", web)
        caddy = subprocess.Popen(["caddy", "run", "--config", str(caddyfile), "--adapter",
                                  "caddyfile"], env=caddy_env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        resolve = ["--resolve", f"{name}:{https_port}:127.0.0.1",
                   "--resolve", f"{name}:{http_port}:127.0.0.1"]
        base = f"https://{name}:{https_port}"
        _wait(lambda: _curl(*resolve, f"{base}/health").returncode == 0, "caddy", caddy)
        redirect = _curl(*resolve, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                         f"http://{name}:{http_port}/login")
        code, location = redirect.stdout.split(" ", 1)
        assert code in ("301", "308") and location.startswith(f"https://{name}")
        jar = tmp_path / "jar"
        page = _curl(*resolve, "-D", "-", "-c", str(jar), f"{base}/login")
        head = page.stdout.lower()
        assert "strict-transport-security: max-age=" in head
        cookies = [line for line in head.splitlines() if line.startswith("set-cookie:")]
        assert cookies and all("secure" in c for c in cookies)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.stdout)
        assert token, page.stdout[:500]
        posted = _curl(*resolve, "-b", str(jar), "-c", str(jar), "-o", "/dev/null",
                       "-w", "%{http_code}", "-H", "X-Forwarded-For: 6.6.6.6",
                       "-H", f"Referer: {base}/login",
                       "--data-urlencode", f"csrf_token={token.group(1)}",
                       "--data-urlencode", "username=nobody",
                       "--data-urlencode", "password=wrong", f"{base}/login")
        assert posted.stdout == "401", posted
    finally:
        for proc in (caddy, web):
            if proc is not None:
                proc.terminate()
                proc.wait(15)
    conn = sqlite3.connect(web_db)
    try:
        keys = [r[0] for r in conn.execute("SELECT throttle_key FROM login_failures")]
    finally:
        conn.close()
    assert "pair:nobody|127.0.0.1" in keys and not any("6.6.6.6" in k for k in keys)

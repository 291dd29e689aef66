"""The web tier as a deployment runs it: web processes of their own (gunicorn with the uvicorn worker,
from hitl_site/gunicorn_conf.py) on the test database, and HAProxy from Debian's package running the
reference deployment's own configuration (deploy/haproxy.cfg) in front of them."""

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.db import connection

# Slack's stand-in, the gateway's upstream MCP server (tests' own, over stdio) and its state.
from tests.channels.conftest import slack_api  # noqa: F401
from tests.gateway.conftest import free_port, notes_stdio, state_dir  # noqa: F401

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PROXY_CONFIG = BASE_DIR / "deploy" / "haproxy.cfg"
GUNICORN = Path(sys.executable).with_name("gunicorn")
# One line per request in HAProxy's HTTP log: `… countersign web/web1 … "POST /mcp/ HTTP/1.1"`.
LOGGED = re.compile(r' countersign web/(?P<server>\S+) .* "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+"$')


def env_on_test_database(**extra):
    """The environment of a process that serves the test database (a transactional test's, which
    other processes see), as the web processes of tests/gateway/conftest.py do."""
    test_database = "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=test_database))}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return {**env, **extra}


def start_gunicorn(port, log, env):
    """gunicorn as production starts it, on 127.0.0.1:`port`; its output in `log`."""
    return subprocess.Popen(
        [str(GUNICORN), "--config", str(BASE_DIR / "hitl_site" / "gunicorn_conf.py"), "--bind", f"127.0.0.1:{port}"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_answering(url, process, log_path, seconds=60):
    deadline = threading.Event()
    timer = threading.Timer(seconds, deadline.set)
    timer.start()
    try:
        while not deadline.is_set():
            if process.poll() is not None:
                raise AssertionError(f"{url} exited at start:\n{Path(log_path).read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    return
            deadline.wait(0.1)
        raise AssertionError(f"{url} did not answer within {seconds} s:\n{Path(log_path).read_text()[-3000:]}")
    finally:
        timer.cancel()


def stop(process):
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Web:
    """One web process: its URL, and its output so far."""

    def __init__(self, name, url, log_path):
        self.name, self.url, self.log_path = name, url, log_path

    def log(self):
        return self.log_path.read_text()


@pytest.fixture
def start_web(transactional_db, tmp_path):
    """Start web processes named web1, web2… with extra environment; each stops after the test."""
    started = []

    def start(count=2, **extra):
        env = env_on_test_database(**{"HITL_WEB_WORKERS": "1", "AUDIT_WITNESS_DIR": str(tmp_path / "witness"), **extra})
        webs = []
        for _ in range(count):
            name = f"web{len(started) + 1}"
            port = free_port()
            log_path = tmp_path / f"{name}.log"
            process = start_gunicorn(port, log_path.open("ab"), env)
            started.append(process)
            webs.append(Web(name, f"http://127.0.0.1:{port}", log_path))
        for web, process in zip(webs, started[-count:], strict=True):
            wait_until_answering(web.url, process, web.log_path)
        return webs

    yield start
    for process in started:
        stop(process)


class Proxy:
    """HAProxy in front of `webs`: its URL, and which web process served each request so far."""

    def __init__(self, url, log_path):
        self.url, self.log_path = url, log_path

    def served(self, method=None, path=None):
        """[(server, method, path)] of the requests answered so far, in the order they ended."""
        lines = (LOGGED.search(line) for line in self.log_path.read_text().splitlines())
        return [
            (found["server"], found["method"], found["path"])
            for found in lines
            if found and (method is None or found["method"] == method) and (path is None or found["path"] == path)
        ]


def proxy_config(port, webs):
    """deploy/haproxy.cfg as it is, but listening on `port` of localhost and sending to `webs` in
    place of the replicas Docker's DNS names (a test has no Docker): exactly those two lines."""
    text = PROXY_CONFIG.read_text()
    bind = "    bind :8000\n"
    replicas = re.compile(r"^    server-template web \d+ web:8000 .*\n", re.MULTILINE)
    assert text.count(bind) == 1 and len(replicas.findall(text)) == 1, "deploy/haproxy.cfg changed shape"
    servers = "".join(f"    server {web.name} {web.url.removeprefix('http://')}\n" for web in webs)
    return replicas.sub(lambda _: servers, text.replace(bind, f"    bind 127.0.0.1:{port}\n"))


@pytest.fixture
def start_proxy(tmp_path):
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy is None:
        pytest.skip("HAProxy is not installed: `apt-get install haproxy` (.ci/run installs it)")
    started = []

    def start(webs):
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(proxy_config(port, webs))
        log_path = tmp_path / "haproxy.log"
        # -db: in the foreground, no daemon and no pid file; as any user, from a temp dir.
        process = subprocess.Popen(
            [haproxy, "-db", "-f", str(config)], stdout=log_path.open("ab"), stderr=subprocess.STDOUT
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_answering(url, process, log_path)
        return Proxy(url, log_path)

    yield start
    for process in started:
        stop(process)


@pytest.fixture
def behind_proxy(start_web, start_proxy):
    """Two web processes and HAProxy in front of them: (proxy, [web1, web2])."""
    webs = start_web(2)
    return start_proxy(webs), webs

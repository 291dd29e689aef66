"""The stack a bench run measures: PostgreSQL and Redis of its own, a fresh database, and
gunicorn with the production worker settings.

Nothing here touches the developer's data. The embedded servers live under `HITL_RUN_DIR`
(`.run/bench/` by default, set by the runner before Django is imported), and the database is
`countersign_bench`, dropped and migrated again at the start of every run. Gunicorn starts on
first use, so a figure measured in process does not pay for it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "countersign_bench"
# As in the Dockerfile and `make run`: what production runs.
GUNICORN_ARGS = ["--config", str(BASE_DIR / "hitl_site" / "gunicorn_conf.py")]  # as make run and the Dockerfile


def database_url(server_url):
    """`server_url` with its database replaced by the bench's own."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + DATABASE_NAME))


def recreate_database(server_url):
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


@contextmanager
def own_database(name):
    """Point Django at a fresh, migrated database `name` on the same server while the block
    runs, then drop it and point back: for a figure whose volume must not mix with the others'
    (and for a script run alone, so that it never touches the developer's data)."""
    from django.db import connection

    original = connection.settings_dict["NAME"]  # create_test_db returns the new one's
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    # The pool's connections go to the database it was opened on: closed, it reopens on `name`
    # (destroy_test_db closes it again on the way back).
    connection.close()
    connection.close_pool()
    # Not setup_test_environment(): it instruments template rendering, which some figures time.
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


class Stack:
    """Started by `up()`; `web_url` starts gunicorn on first use; `down()` stops what it started."""

    def __init__(self, scale):
        self.scale = scale
        self.run_dir = Path(os.environ["HITL_RUN_DIR"])
        self._started_services = []
        self._webs = []
        self._gunicorn = None
        self._web_url = None
        self.actors = None  # bench.volume.Actors, once the database is ready

    def up(self):
        """Start the servers, make a fresh database, migrate it and set Django up on it."""
        from hitl_site import embedded  # reads HITL_RUN_DIR at import

        self._started_services = embedded.up()
        server_url = os.environ.get("DATABASE_URL") or embedded.postgres_url()
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = embedded.redis_url()
        recreate_database(server_url)
        os.environ["DATABASE_URL"] = database_url(server_url)
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        self._create_baseline_table()

        from bench import volume

        self.actors = volume.prepare_actors()

    def _create_baseline_table(self):
        from django.db import connection

        from bench.views import BASELINE_TABLE

        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE {BASELINE_TABLE} "
                "(id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )

    @property
    def web_url(self):
        if self._gunicorn is None:
            self._start_gunicorn()
        return self._web_url

    @property
    def gunicorn_pid(self):
        """The gunicorn master's pid (its workers are its children)."""
        if self._gunicorn is None:
            self._start_gunicorn()
        return self._gunicorn.pid

    def _start_gunicorn(self):
        self._gunicorn = self.start_web()
        self._web_url = self._gunicorn.url

    def start_web(self, workers=None):
        """Another gunicorn on the bench's database, as production runs it, with `workers` web
        processes (HITL_WEB_WORKERS; the environment's when None); stopped by `down()` too."""
        env = {} if workers is None else {"HITL_WEB_WORKERS": str(workers)}
        web = Web(self.run_dir, env)
        self._webs.append(web)
        return web

    def reviewer_session(self, client, username):
        """Log `client` (an httpx client on `web_url`) in through the real login form; returns
        the CSRF token the dashboard's htmx requests send."""
        from bench.volume import PASSWORD

        client.get("/accounts/login/")
        answer = client.post(
            "/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )
        if answer.status_code != 302:
            raise RuntimeError(f"logging in as {username} answered {answer.status_code}")
        return client.cookies["csrftoken"]

    def down(self):
        for web in self._webs:
            web.stop()
        if "django" in sys.modules:
            from django.db import connections

            from approvals.waiting import listener

            listener.stop()
            connections.close_all()
        from hitl_site import embedded

        embedded.down(self._started_services)


class Web:
    """One gunicorn (`GUNICORN_ARGS`) on a free port, answering `/readyz` before this returns."""

    def __init__(self, run_dir, env):
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = run_dir / f"gunicorn-{port}.log"
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}"] + GUNICORN_ARGS,
            cwd=BASE_DIR,
            env={**os.environ, "SITE_URL": self.url, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start; see {self.log_path}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer at {self.url}; see {self.log_path}")

    def workers(self):
        """The pids of its web processes (the master's children)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(60)  # past the drain (hitl_site/worker.py)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

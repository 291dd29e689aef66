"""`make run`: migrate, load the demo, and run every process of Countersign in one terminal.

Starts gunicorn (the web, served as ASGI: `hitl_site/gunicorn_conf.py`), a Celery worker, Celery
beat and the simulated agent, prints the URL and the demo logins, and on Ctrl-C stops all of them.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = os.environ.get("HITL_HOST", "127.0.0.1")
PORT = os.environ.get("HITL_PORT", "8000")


def manage(*args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, check=True)


def start(name, *command):
    # Own session: Ctrl-C reaches only this script, which then stops each child in order.
    log = open(BASE_DIR / ".run" / f"{name}.log", "ab")
    process = subprocess.Popen(command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return name, process


def wait_until_up(url, processes, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            for name, process in processes:
                if process.poll() is not None:
                    raise SystemExit(f"{name} exited at start; see .run/{name}.log") from None
            time.sleep(0.2)
    raise SystemExit(f"the web server did not answer at {url}; see .run/web.log")


def stop(processes):
    for _, process in reversed(processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for _, process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main():
    os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")
    # Two web processes, as a deployment runs several, whatever the cores: the embedded PostgreSQL
    # takes 100 connections, and gunicorn refuses more processes than fit (README, "Connection limits").
    os.environ.setdefault("HITL_WEB_WORKERS", "2")
    (BASE_DIR / ".run").mkdir(exist_ok=True)
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    manage("seed_demo")
    processes = [
        start(
            "web",
            str(BIN / "gunicorn"),
            "--config",
            str(BASE_DIR / "hitl_site" / "gunicorn_conf.py"),
            "--bind",
            f"{HOST}:{PORT}",
            "--access-logfile",
            "-",
        ),
        start("worker", str(BIN / "celery"), "-A", "hitl_site", "worker", "--loglevel", "INFO", "--concurrency", "2"),
        start(
            "beat",
            str(BIN / "celery"),
            "-A",
            "hitl_site",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(BASE_DIR / ".run" / "celerybeat-schedule"),
        ),
    ]
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        wait_until_up(f"http://{HOST}:{PORT}/healthz", processes)
        processes.append(start("agent", sys.executable, "-m", "bench.simulated_agent", "--url", f"http://{HOST}:{PORT}"))
        print(f"\nCountersign is running at http://{HOST}:{PORT}/  (logs in .run/*.log; Ctrl-C stops everything)")
        print("Log in as supervisor / countersign to review, policyadmin or admin for /admin/.\n", flush=True)
        while all(process.poll() is None for _, process in processes):
            time.sleep(0.5)
        crashed = [name for name, process in processes if process.poll() is not None]
        print(f"stopping: {', '.join(crashed)} exited; see .run/<name>.log", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())

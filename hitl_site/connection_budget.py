"""How many PostgreSQL connections the web processes of one host may open, checked before gunicorn
starts any (`on_starting` in hitl_site/gunicorn_conf.py).

Each web process holds at most its pool (`DB_POOL_MAX_SIZE`: sync views and the async code's
database threads all draw from it) and one connection of its own that LISTENs (hitl_lib/listen.py).
A pool grows to its maximum under load, so the maximum is what counts: past the server's
`max_connections` a busy process would be refused connections in the middle of a proposal. Better
to refuse to start, naming the numbers and what to change (README, "Connection limits").
"""

import psycopg
from django.conf import settings

from hitl_lib.listen import connection_params

LISTEN_CONNECTIONS = 1  # per process: hitl_lib/listen.py


def per_process():
    """The most connections one web process opens."""
    return settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"] + LISTEN_CONNECTIONS


def server_limits():
    """(max_connections, connections the server keeps for superusers and reserved roles)."""
    with psycopg.connect(**connection_params(), autocommit=True) as conn:
        settings_read = dict(
            conn.execute(
                "SELECT name, setting::int FROM pg_settings"
                " WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
            ).fetchall()
        )
    kept = settings_read.get("superuser_reserved_connections", 0) + settings_read.get("reserved_connections", 0)
    return settings_read["max_connections"], kept


def problem(*, workers, max_connections, kept):
    """Why `workers` web processes on this host do not fit the server, or None."""
    each = per_process()
    others = settings.HITL_DB_OTHER_CONNECTIONS
    needed = workers * each + others
    available = max_connections - kept
    if needed <= available:
        return None
    return (
        f"Refusing to start: {workers} web processes (HITL_WEB_WORKERS) × {each} PostgreSQL connections each "
        f"(DB_POOL_MAX_SIZE {each - LISTEN_CONNECTIONS} + {LISTEN_CONNECTIONS} LISTEN) + {others} for everything else "
        f"(HITL_DB_OTHER_CONNECTIONS: Celery, other hosts, psql) = {needed}, more than the {available} the server "
        f"allows (max_connections {max_connections} − {kept} reserved). Lower HITL_WEB_WORKERS or DB_POOL_MAX_SIZE, "
        'or raise max_connections in postgresql.conf (or put PgBouncer in front, README "Connection limits").'
    )


def fitting(workers):
    """`workers`, or fewer when the server takes fewer connections (at least one: `check` then says
    why even that does not fit); `workers` when PostgreSQL does not answer."""
    try:
        max_connections, kept = server_limits()
    except psycopg.OperationalError:
        return workers
    room = max_connections - kept - settings.HITL_DB_OTHER_CONNECTIONS
    return max(1, min(workers, room // per_process()))


def check(workers):
    """Raise RuntimeError (gunicorn prints it and exits 1) when `workers` processes would not fit;
    else (needed, available), or None when PostgreSQL does not answer: an outage is no configuration
    error, and the processes start to answer /readyz 503 until it is back, as they always did."""
    try:
        max_connections, kept = server_limits()
    except psycopg.OperationalError:
        return None
    if message := problem(workers=workers, max_connections=max_connections, kept=kept):
        raise RuntimeError(message)
    return workers * per_process() + settings.HITL_DB_OTHER_CONNECTIONS, max_connections - kept

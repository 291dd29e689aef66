"""Start-up checks of the audit log's anchors (run by `manage.py migrate`, `check` and so by
`make run`): a witness directory that is not append-only is refused in production and warned
about elsewhere, since whoever can delete its newest files can roll the log back with the
database unseen by it."""

from django.conf import settings
from django.core import checks

from audit.witness import DirectoryWitness


def witness_directory_problem():
    """Why the witness directory does not hold what it was given, or "" (also shown on the audit page)."""
    if not settings.AUDIT_WITNESS_DIR:
        return ""
    loose = DirectoryWitness(settings.AUDIT_WITNESS_DIR).not_append_only()
    if not loose:
        return ""
    return (
        f"The audit witness directory is not append-only ({', '.join(loose)}): whoever can write to it can delete "
        "the newest heads' files together with the database's newest events and heads, and that rollback is "
        "caught only by the heads' cadence (a gap or a stale head, once it is longer than the cadence), or by a "
        "remote witness."
    )


HINT = (
    "As root: chattr +a on the directory and on each 8-digit shard directory in it (a new one every 10,000 heads), "
    "or mount a volume that refuses deletes; or set AUDIT_WITNESS_DIR_CHECK=warn to start anyway, and anchor the "
    "log in a remote witness (AUDIT_WITNESS_REMOTE_URL). README: 'Who can rewrite the audit log unseen'."
)


@checks.register(checks.Tags.security)
def witness_directory_is_append_only(app_configs, **kwargs):
    problem = witness_directory_problem()
    if not problem:
        return []
    if settings.AUDIT_WITNESS_DIR_CHECK == "refuse":
        return [checks.Error(problem, hint=HINT, id="audit.E001")]
    return [checks.Warning(problem, hint=HINT, id="audit.W001")]

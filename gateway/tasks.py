"""Periodic work of the MCP gateway; thin wrappers around domain code."""

from celery import shared_task

from gateway import calls


@shared_task
def purge_expired():
    """Tasks past their TTL, and 2025 sessions unused for as long: deleting them twice is harmless."""
    return calls.purge_expired()

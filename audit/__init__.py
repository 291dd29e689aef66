"""Append-only, hash-chained audit log. `audit.log.record()` is the one way to write to it."""

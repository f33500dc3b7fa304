"""Alembic revisions of the event intake (the spool, API-key scopes), in the one version chain."""

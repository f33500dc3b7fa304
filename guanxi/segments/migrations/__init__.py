"""Alembic revisions of the segments tables (one chain with the other domains, see guanxi.appdb.migrate)."""

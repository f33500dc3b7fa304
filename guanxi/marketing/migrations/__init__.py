"""Alembic revisions of the marketing tables (one chain with the other domains, see guanxi.appdb.migrate)."""

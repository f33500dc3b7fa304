"""Alembic revisions of the jobs tables (one chain with the other domains', see guanxi.appdb.migrate)."""

"""Alembic migrations of the app database, shipped inside the package (see :mod:`guanxi.appdb.migrate`)."""

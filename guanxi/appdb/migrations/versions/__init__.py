"""Migration scripts, one per revision, applied in order by :func:`guanxi.appdb.migrate.upgrade`."""

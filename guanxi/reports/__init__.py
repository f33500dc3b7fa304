"""Reports: definitions registered through the ``register_reports`` hook."""

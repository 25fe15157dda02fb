"""Callback wiring: one module per page, each with ``register(app, deps)``."""

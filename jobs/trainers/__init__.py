"""Built-in trainers; importing this package registers them."""

from jobs.trainers import shapes, tabular  # noqa: F401

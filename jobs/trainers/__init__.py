"""Built-in trainers; importing this package registers them."""

from jobs.trainers import shapes  # noqa: F401

"""The built-in trainers; ``jobs.registry`` lists them (importing does not register)."""

"""Training jobs: trainers, registry, job store and runner (issue 4)."""

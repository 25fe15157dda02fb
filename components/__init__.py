"""Layout builders: one module per page, functions only (nothing built at import)."""

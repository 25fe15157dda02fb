"""Flask glue: headers, errors, health, downloads, users, sign-in and request logs."""

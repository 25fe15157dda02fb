"""gunicorn picks this file up from the working directory; the real settings live in the package."""

from dashapp.gunicorn_conf import *  # noqa: F403

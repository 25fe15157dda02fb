"""WSGI entry point for gunicorn: the only place an app is built at import."""

from dashapp.app import create_app

app = create_app()
server = app.server

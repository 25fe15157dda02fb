"""dashapp: an internal Dash dashboard for a data and ML team.

Build an app with ``dashapp.app.create_app(settings)``; this package's own modules (settings,
db, data, compositor, ...) import no Dash, so they can be used without it.
"""

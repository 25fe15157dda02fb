"""The Data page's domain: what the browsed database holds, grid SQL, row shaping, demo data.

Plain Python over SQLAlchemy; no Dash or Flask here.
"""

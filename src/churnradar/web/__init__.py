"""The web dashboard and REST API (FastAPI, server-rendered Jinja2 pages with htmx, ECharts charts)."""

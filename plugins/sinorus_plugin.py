"""Airflow plugin: the sinorus pages under /sinorus and a "China–Russia events" link in Browse."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from sinorus.webui.app import create_app

# Building the app touches no database: pages connect per request.
app = create_app(auth=True)


class SinorusPlugin(AirflowPlugin):
    """Registers the sinorus FastAPI app and its navigation link."""

    name = "sinorus_watch"
    fastapi_apps = [{"app": app, "url_prefix": "/sinorus", "name": "sinorus-watch"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "China–Russia events",
            "href": "/sinorus/",
            "url_route": "sinorus-events",
            "destination": "nav",
            "category": "browse",
        }
    ]

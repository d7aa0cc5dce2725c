"""Airflow settings for tests: import this before anything imports airflow.

Each test process (each xdist worker) gets its own AIRFLOW_HOME with a file SQLite metadata DB,
because SQLite does not take concurrent migrations or writers from several processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
HOME = Path(tempfile.mkdtemp(prefix=f"sinorus-airflow-{_worker}-"))

SETTINGS = {
    "AIRFLOW_HOME": str(HOME),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow.db'}",
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    # Not plugins/: Airflow imports every .py file under its plugins folder as a plugin module,
    # and the sinorus package is on the path already (installed editable).
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(HOME / "plugins"),
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(HOME / "logs"),
    "AIRFLOW__API_AUTH__JWT_SECRET": "tests-only-secret-not-used-outside-loopback",
}

_late = "airflow.configuration" in sys.modules
os.environ.update(SETTINGS)
if _late:
    # Another test module imported airflow first: its config was read from the old environment.
    from airflow import settings as _settings
    from airflow.configuration import conf as _conf

    for _name, _value in SETTINGS.items():
        if _name.startswith("AIRFLOW__"):
            _section, _key = _name.removeprefix("AIRFLOW__").lower().split("__", 1)
            _conf.set(_section, _key, _value)
    _settings.AIRFLOW_HOME = str(HOME)
    _settings.configure_vars()
    _settings.reconfigure_orm()

_migrated = threading.Lock()
_done = False


def migrate_metadata_db() -> None:
    """Create this process's Airflow metadata DB once (`airflow db migrate`)."""
    global _done
    with _migrated:
        if _done:
            return
        bin_dir = Path(sys.executable).parent
        out = subprocess.run(
            [str(bin_dir / "airflow"), "db", "migrate"],
            env=os.environ | {"PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"},
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{out.stdout}\n{out.stderr}")
        _done = True

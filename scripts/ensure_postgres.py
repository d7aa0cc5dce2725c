"""Find a PostgreSQL server to use, or start a private one; print its admin URL.

Order: SINORUS_DATABASE_URL when set; else a server on 127.0.0.1:5432; else a private cluster
in .pgdata/ of this project (started with the machine's initdb/pg_ctl); else fail and say how to
get one. The URL printed points at a database where the caller may create databases.
"""

from __future__ import annotations

import getpass
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[1]
PGDATA = ROOT / ".pgdata"
PRIVATE_PORT = int(os.environ.get("SINORUS_PRIVATE_PG_PORT", "5433"))


def reachable(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
    except psycopg2.Error:
        return False
    return True


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def run_as_owner(args: list[str]) -> None:
    # initdb refuses to run as root; the Debian `postgres` user owns the cluster then.
    if os.geteuid() == 0:
        args = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def start_private_cluster() -> str | None:
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        return None
    url = f"postgresql://postgres@127.0.0.1:{PRIVATE_PORT}/postgres"
    if reachable(url):
        return url
    if not (PGDATA / "PG_VERSION").exists():
        PGDATA.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(PGDATA, "postgres", "postgres")
        run_as_owner([initdb, "-D", str(PGDATA), "--auth=trust", "-E", "UTF8", "-U", "postgres"])
    opts = f"-p {PRIVATE_PORT} -k {PGDATA} -c listen_addresses=127.0.0.1"
    run_as_owner([pg_ctl, "-D", str(PGDATA), "-o", opts, "-l", str(PGDATA / "log"), "-w", "start"])
    return url if reachable(url) else None


def main() -> int:
    explicit = os.environ.get("SINORUS_DATABASE_URL")
    if explicit:
        if reachable(explicit):
            print(explicit)
            return 0
        print(f"SINORUS_DATABASE_URL is set but not reachable: {explicit}", file=sys.stderr)
        return 1
    for user in dict.fromkeys([os.environ.get("PGUSER"), getpass.getuser(), "postgres"]):
        if user:
            url = f"postgresql://{user}@127.0.0.1:5432/postgres"
            if reachable(url):
                print(url)
                return 0
    url = start_private_cluster()
    if url:
        print(url)
        return 0
    print(
        "No PostgreSQL found. Set SINORUS_DATABASE_URL to a server where you may create "
        "databases, start one on 127.0.0.1:5432, or install PostgreSQL's server package "
        "(Debian: apt-get install postgresql) so a private cluster can be started in .pgdata/.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Alert rules and mutes: which events alert, from YAML data and the alert_mutes table."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sinorus import settings
from sinorus.detect.model import LEVELS

DEFAULT_LEVELS = LEVELS  # an operator's rules file may list its own order


class AlertConfigError(ValueError):
    """An alert rules file is unreadable or says something we cannot act on."""


@dataclass(frozen=True)
class AlertRule:
    types: frozenset[str]
    min_level: str
    statuses: frozenset[str]
    background: bool = False
    min_outlets: int = 1
    name: str = ""


@dataclass(frozen=True)
class Mute:
    person_id: str | None
    type: str | None
    outlet: str | None
    until: dt.datetime | None
    reason: str
    id: int | None = None  # alert_mutes.id; None for mutes from YAML
    source: str = "yaml"

    def describe(self) -> str:
        """A one-line account of the mute, stored on the rows it suppresses."""
        parts = [
            f"{name}={value}"
            for name, value in (
                ("person", self.person_id),
                ("type", self.type),
                ("outlet", self.outlet),
            )
            if value
        ]
        where = f"alert_mutes #{self.id}" if self.id is not None else self.source
        until = f" until {self.until.isoformat()}" if self.until else ""
        return f"{where}: {' '.join(parts)}{until}: {self.reason}"


@dataclass(frozen=True)
class AlertRules:
    rules: tuple[AlertRule, ...]
    mutes: tuple[Mute, ...] = ()
    levels: tuple[str, ...] = DEFAULT_LEVELS
    max_attempts: int = 5
    channel_failures: int = 3
    max_sources: int = 8
    sources: tuple[str, ...] = field(default=())  # files the rules were read from

    def rank(self, level: str | None) -> int | None:
        """Position of a level, 0 for the highest; None when unknown."""
        if level in self.levels:
            return self.levels.index(level)
        return None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = settings.parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AlertConfigError(f"{path}: cannot read alert rules: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AlertConfigError(f"{path}: alert rules must be a mapping, got {type(data).__name__}")
    return data


def _strings(value: Any, what: str, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise AlertConfigError(f"{where}: '{what}' must be a non-empty list of strings")
    return frozenset(value)


def _parse_rule(raw: Any, levels: tuple[str, ...], where: str) -> AlertRule:
    if not isinstance(raw, dict):
        raise AlertConfigError(f"{where}: a rule is a mapping with types, min_level, statuses")
    unknown = set(raw) - {"name", "types", "min_level", "statuses", "background", "min_outlets"}
    if unknown:
        raise AlertConfigError(f"{where}: unknown rule keys {sorted(unknown)}")
    min_level = raw.get("min_level", levels[-1])
    if min_level not in levels:
        raise AlertConfigError(f"{where}: min_level {min_level!r} is not one of {list(levels)}")
    min_outlets = raw.get("min_outlets", 1)
    if not isinstance(min_outlets, int) or min_outlets < 1:
        raise AlertConfigError(f"{where}: min_outlets must be a positive integer")
    return AlertRule(
        name=str(raw.get("name", "")),
        types=_strings(raw.get("types"), "types", where),
        min_level=min_level,
        statuses=_strings(raw.get("statuses", ["held", "planned"]), "statuses", where),
        background=bool(raw.get("background", False)),
        min_outlets=min_outlets,
    )


def _parse_time(value: Any, where: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise AlertConfigError(f"{where}: 'until' {value!r} is not an ISO date") from exc
    else:
        raise AlertConfigError(f"{where}: 'until' must be a date or time")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _parse_mute(raw: Any, where: str) -> Mute:
    if not isinstance(raw, dict):
        raise AlertConfigError(f"{where}: a mute is a mapping")
    unknown = set(raw) - {"person_id", "type", "outlet", "until", "reason"}
    if unknown:
        raise AlertConfigError(f"{where}: unknown mute keys {sorted(unknown)}")
    fields = {k: raw.get(k) for k in ("person_id", "type", "outlet")}
    if not any(fields.values()):
        raise AlertConfigError(f"{where}: a mute needs person_id, type or outlet")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise AlertConfigError(f"{where}: a mute needs a reason")
    return Mute(
        person_id=_opt_str(fields["person_id"]),
        type=_opt_str(fields["type"]),
        outlet=normalise_outlet(fields["outlet"]) if fields["outlet"] else None,
        until=_parse_time(raw.get("until"), where),
        reason=reason.strip(),
        source=where.split(":")[0],
    )


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


_CACHE: dict[tuple[Any, ...], AlertRules] = {}


def _stamp(path: Path | str | None) -> tuple[str, float] | None:
    if not path:
        return None
    try:
        return str(path), Path(path).stat().st_mtime
    except OSError:
        return str(path), -1.0  # reading it will raise the clear error


def load_rules(path: Path | str | None = None) -> AlertRules:
    """The shipped data/alerts.yaml merged with the operator's (path, else SINORUS_ALERT_RULES)."""
    default = settings.DATA_DIR / "alerts.yaml"
    extra = path or settings.env("SINORUS_ALERT_RULES")
    # The store calls this once per event: re-read only when a file changed.
    key = (_stamp(default), _stamp(extra))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = _load_rules(default, extra)
    return _CACHE[key]


def _load_rules(default: Path, extra: Path | str | None) -> AlertRules:
    merged = _read_yaml(default)
    files = [str(default)]
    mutes_raw: list[tuple[Any, str]] = [
        (m, f"{default}: mutes[{i}]") for i, m in enumerate(merged.get("mutes") or [])
    ]
    if extra:
        override = _read_yaml(Path(extra))
        files.append(str(extra))
        for key in ("levels", "rules"):
            if key in override:
                merged[key] = override[key]
        delivery = dict(merged.get("delivery") or {})
        delivery.update(override.get("delivery") or {})
        merged["delivery"] = delivery
        mutes_raw += [
            (m, f"{extra}: mutes[{i}]") for i, m in enumerate(override.get("mutes") or [])
        ]
    where = " + ".join(files)
    levels_raw = merged.get("levels") or list(DEFAULT_LEVELS)
    levels = tuple(sorted(_strings(levels_raw, "levels", where), key=levels_raw.index))
    rules_raw = merged.get("rules")
    if not isinstance(rules_raw, list):
        raise AlertConfigError(f"{where}: 'rules' must be a list (empty to alert on nothing)")
    rules = tuple(_parse_rule(r, levels, f"{where}: rules[{i}]") for i, r in enumerate(rules_raw))
    mutes = tuple(_parse_mute(m, w) for m, w in mutes_raw)
    delivery = merged.get("delivery") or {}
    numbers: dict[str, int] = {}
    for key, default_value in (("max_attempts", 5), ("channel_failures", 3), ("max_sources", 8)):
        value = delivery.get(key, default_value)
        if not isinstance(value, int) or value < 1:
            raise AlertConfigError(f"{where}: delivery.{key} must be a positive integer")
        numbers[key] = value
    return AlertRules(rules=rules, mutes=mutes, levels=levels, sources=tuple(files), **numbers)


def participants(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The event's participants that are well-formed mappings; anything else is ignored."""
    raw = event.get("participants")
    if not isinstance(raw, list):
        return []
    return [p for p in raw if isinstance(p, dict)]


def event_level(event: Mapping[str, Any], rules: AlertRules) -> str | None:
    """The event's level; computed as the lower side's highest level when the row lacks it."""
    level = event.get("level")
    if isinstance(level, str) and level in rules.levels:
        return level
    best: dict[str, int] = {}
    for person in participants(event):
        country, rank = person.get("country"), rules.rank(person.get("level"))
        if isinstance(country, str) and rank is not None:
            best[country] = min(rank, best.get(country, rank))
    if len(best) < 2:
        return None
    return rules.levels[max(best.values())]


def should_alert(event: Mapping[str, Any], rules: AlertRules) -> bool:
    """Whether any rule asks for an alert on this event."""
    return _fits(event, rules, any_status=False)


def could_alert(event: Mapping[str, Any], rules: AlertRules) -> bool:
    """Whether a rule fits the event but for its status: the events a follow-up may concern."""
    return _fits(event, rules, any_status=True)


def _fits(event: Mapping[str, Any], rules: AlertRules, *, any_status: bool) -> bool:
    rank = rules.rank(event_level(event, rules))
    if rank is None:
        return False
    background = bool(event.get("background"))
    outlets = event.get("n_outlets")
    n_outlets = outlets if isinstance(outlets, int) else 1
    for rule in rules.rules:
        if (
            event.get("type") in rule.types
            and (any_status or event.get("status") in rule.statuses)
            and rank <= rules.levels.index(rule.min_level)
            and (rule.background or not background)
            and n_outlets >= rule.min_outlets
        ):
            return True
    return False


def normalise_outlet(outlet: str) -> str:
    """An outlet as a bare lower-case host, so 'https://www.TASS.com/' matches 'tass.com'."""
    host = outlet.strip().lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0]
    return host.removeprefix("www.")


def people(event: Mapping[str, Any]) -> set[str]:
    """Gazetteer ids of the event's participants."""
    found = {p["person_id"] for p in participants(event) if isinstance(p.get("person_id"), str)}
    extra = event.get("people")
    if isinstance(extra, list | tuple):
        found.update(p for p in extra if isinstance(p, str))
    return found


def _matches(mute: Mute, event: Mapping[str, Any], who: set[str]) -> bool:
    """Whether the mute's person and type (those it sets) fit the event."""
    if mute.person_id is not None and mute.person_id not in who:
        return False
    return mute.type is None or mute.type == event.get("type")


def muted(
    cur: Any,
    event: Mapping[str, Any],
    outlets: Sequence[str],
    now: dt.datetime | None = None,
    *,
    rules: AlertRules | None = None,
) -> Mute | None:
    """The first mute (YAML, then alert_mutes rows) that silences this event now, if any."""
    now = now or dt.datetime.now(dt.UTC)
    rules = rules or load_rules()
    active = [m for m in rules.mutes if m.until is None or m.until > now]
    active += list_mutes(cur, now=now)
    who = people(event)
    hosts = {normalise_outlet(o) for o in outlets if isinstance(o, str) and o.strip()}
    fitting = [m for m in active if _matches(m, event, who)]
    for mute in fitting:
        if mute.outlet is None:
            return mute
    # Outlet mutes silence events known only through muted outlets: one other outlet
    # reporting the same event is corroboration enough to alert.
    by_outlet = {m.outlet: m for m in reversed(fitting) if m.outlet is not None}
    if hosts and hosts <= by_outlet.keys():
        return by_outlet[min(hosts)]
    return None


MUTE_COLUMNS = "id, person_id, type, outlet, until, reason"


def _mute_from_row(row: Sequence[Any]) -> Mute:
    return Mute(
        id=row[0],
        person_id=row[1],
        type=row[2],
        outlet=row[3],
        until=row[4],
        reason=row[5],
        source="alert_mutes",
    )


def add_mute(
    cur: Any,
    *,
    reason: str,
    person_id: str | None = None,
    type: str | None = None,  # the column's name, as operators know it
    outlet: str | None = None,
    until: dt.datetime | None = None,
    created_by: str | None = None,
) -> Mute:
    """Insert an alert_mutes row and return it."""
    if not (person_id or type or outlet):
        raise AlertConfigError("a mute needs a person, a type or an outlet")
    if not reason or not reason.strip():
        raise AlertConfigError("a mute needs a reason")
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    cur.execute(
        "INSERT INTO alert_mutes (person_id, type, outlet, until, reason, created_by) "
        f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {MUTE_COLUMNS}",
        (
            person_id or None,
            type or None,
            normalise_outlet(outlet) if outlet else None,
            until,
            reason.strip(),
            created_by,
        ),
    )
    return _mute_from_row(cur.fetchone())


def list_mutes(
    cur: Any, *, now: dt.datetime | None = None, include_expired: bool = False
) -> list[Mute]:
    """Mutes in the alert_mutes table, oldest first; expired ones only when asked."""
    if include_expired:
        cur.execute(f"SELECT {MUTE_COLUMNS} FROM alert_mutes ORDER BY id")
    else:
        cur.execute(
            f"SELECT {MUTE_COLUMNS} FROM alert_mutes WHERE until IS NULL OR until > %s ORDER BY id",
            (now or dt.datetime.now(dt.UTC),),
        )
    return [_mute_from_row(row) for row in cur.fetchall()]


def remove_mute(cur: Any, mute_id: int) -> bool:
    """Delete one alert_mutes row; False when there was none with that id."""
    cur.execute("DELETE FROM alert_mutes WHERE id = %s", (mute_id,))
    return bool(cur.rowcount)


def configure_mute_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of `sinorus mute`: add a mute, --list them, or --remove one."""
    parser.add_argument("--person", help="gazetteer person id, e.g. sergei-shoigu")
    parser.add_argument("--type", help="event type, e.g. call")
    parser.add_argument("--outlet", help="outlet host; mutes events only it reported")
    parser.add_argument("--until", help="ISO date or time the mute ends (default: never)")
    parser.add_argument("--reason", help="why, kept on every alert it silences")
    parser.add_argument("--list", action="store_true", help="print the mutes in force")
    parser.add_argument("--all", action="store_true", help="with --list: expired ones too")
    parser.add_argument("--remove", type=int, metavar="ID", help="delete the mute with this id")
    parser.set_defaults(func=mute_cli)


def mute_cli(args: argparse.Namespace) -> int:
    """Run `sinorus mute` against the configured database; returns the exit status."""
    from sinorus import db as sdb

    conn = sdb.connect()
    try:
        with sdb.transaction(conn) as cur:
            if args.remove is not None:
                found = remove_mute(cur, args.remove)
                print(f"removed mute #{args.remove}" if found else f"no mute #{args.remove}")
                return 0 if found else 1
            if args.list:
                yaml_mutes = list(load_rules().mutes)
                for mute in yaml_mutes + list_mutes(cur, include_expired=args.all):
                    print(mute.describe())
                return 0
            try:
                mute = add_mute(
                    cur,
                    person_id=args.person,
                    type=args.type,
                    outlet=args.outlet,
                    until=_parse_time(args.until, "--until"),
                    reason=args.reason or "",
                    created_by=os.environ.get("USER"),
                )
            except AlertConfigError as exc:
                print(f"sinorus mute: {exc}", file=sys.stderr)
                return 2
            print(f"added {mute.describe()}")
            return 0
    finally:
        conn.close()

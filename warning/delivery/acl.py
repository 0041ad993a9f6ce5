"""Duty officers' Redis ACL users: each reads only the feeds of its unit and the units below.

Key scheme decision (documented in README/DESIGN notes of this module):

* An officer's Redis user may touch **only feed streams** of its scope::

      ~warning:feed:S03  ~warning:feed:S03-*      (street S03 and everything below it)
      ~warning:feed:dept:rsj                     (a department desk)
      ~warning:feed:*                            (the district command centre)

  (shown for the default prefix; ``WARNING_REDIS_PREFIX`` replaces ``warning:``, which is
  why that setting may hold no glob characters).

  ``S03`` alone would not do as a glob (``S03*`` also matches ``S030``); feeds are named by the
  unit's path key (`warning.core.units.feed_key`: the code itself in the default layout, the
  ancestors' segments and the unit's joined by ``-`` in a district's own units file) and
  children always follow a ``-``, so "the unit, or the unit + '-' + anything" is exact in any
  layout. The district-wide ``warning:feed:all`` is readable only by the district.
* Feed entries are **self-contained** (level, title, indicators, evidence count, action,
  state; `warning.core.routing.feed_entry`), so a desk needs nothing else to act. Alert
  hashes, indexes, the officers table and the audit stream are **not** readable by officer
  users: an alert's unit can change (escalation, upgrade) while its hash key cannot, so a
  per-unit key pattern for hashes would leak or hide alerts. History, state changes and
  person-level details go through `warning alerts/ack/resolve` and the web console, which
  authenticate the officer against this same ACL user, check scope with `units.within` and
  write the audit stream (reads of person-level details included).
* Commands are limited to what a feed subscriber needs (consumer-group reads and acks).
  No command that creates a key or a consumer group (no ``XADD``, ``SET``, ``XGROUP CREATE``
  with its ``MKSTREAM``): the engine creates each feed's desk group with the feed's first
  entry (`warning.sinks.redis.DESK_GROUP`), so an officer can only read and ``XACK`` what
  exists. ``XREADGROUP``/``XACK`` count as writes in Redis; they create no key, and the
  key pattern allows them only on the officer's own feeds.

`add_user` provisions with ``ACL SETUSER`` (resetting the user first, so re-running it is
idempotent and can change a password or a scope) and ``ACL SAVE`` when the server runs with
an aclfile (the local stack's ``<stack_dir>/redis/users.acl``).

Redis Cluster (``redis+cluster://``, `warning.sinks.connect`): ACL users are per node, so
`add_user` runs ``ACL SETUSER`` and ``ACL SAVE`` on every node, and a login is checked on any
one node. The prefix carries a hash tag there (``{warning}:``); ``{`` and ``}`` are literal
in ACL globs, so ``~{warning}:feed:S03 ~{warning}:feed:S03-*`` keep their meaning. Officers
may also run ``CLUSTER SLOTS`` and ``COMMAND`` (topology and the command table, no data),
which a cluster client needs to start.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import redis.asyncio as aioredis
import typer
from redis import exceptions as rexc

from warning.core import units
from warning.core.errors import ImproperlyConfigured, WarningError
from warning.core.routing import DEPT_PREFIX
from warning.sinks.base import DEFAULT_PREFIX
from warning.sinks.connect import AnyRedis, all_nodes, client_from_url, node_url

NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
DEPT_RE: Final = re.compile(r"^dept:[a-z0-9_]{1,16}$")
RESERVED: Final = frozenset({"default", "engine", "admin", "root"})

OFFICER_COMMANDS: Final[tuple[str, ...]] = (
    "+ping",
    "+hello",
    "+auth",
    "+client|setname",
    # a deployment may keep the engine's keys in a non-zero database (tests use db 15); key
    # patterns still bound what an officer can read in every database
    "+select",
    "+xreadgroup",
    "+xack",
    "+xpending",
    "+xrange",
    "+xrevrange",
    "+xlen",
    "+xinfo|stream",
    "+xinfo|groups",
    # a cluster-aware client (redis+cluster://) learns the slot map and command table first
    "+cluster|slots",
    "+command",
)


class AuthenticationFailed(WarningError):
    """An officer's login was refused: wrong name or password, or no unit scope registered."""


def check_scope(scope: str, h: units.Hierarchy | None = None) -> str:
    """Validate a desk scope: a unit code (of the units file, when one is loaded) or ``dept:<code>``."""
    if units.is_unit(scope, h) or DEPT_RE.match(scope):
        return scope
    expected = "district, a code of the units file" if h is not None else "district, Sxx, Sxx-Cxx, Sxx-Cxx-Gxx"
    raise ImproperlyConfigured(f'Unknown unit "{scope}"; expected {expected} or dept:<code>')


def check_name(name: str) -> str:
    """Validate an officer login (ASCII, e.g. pinyin: ACL names and logs stay simple)."""
    if not NAME_RE.match(name) or name in RESERVED:
        raise ImproperlyConfigured(
            f'Invalid officer login "{name}": use 2-32 of a-z 0-9 _ . - starting with a letter, '
            f"not one of {sorted(RESERVED)}"
        )
    return name


def key_patterns(scope: str, prefix: str = DEFAULT_PREFIX, h: units.Hierarchy | None = None) -> list[str]:
    """ACL key patterns of a desk: its own feed and the feeds of the units below it."""
    check_scope(scope, h)
    feed = f"{prefix}feed:"
    if scope == units.DISTRICT:
        return [f"~{feed}*"]
    if scope.startswith(DEPT_PREFIX):
        return [f"~{feed}{scope}"]
    key = units.feed_key(scope, h)
    return [f"~{feed}{key}", f"~{feed}{key}-*"]


def acl_rules(scope: str, password: str, prefix: str = DEFAULT_PREFIX, h: units.Hierarchy | None = None) -> list[str]:
    """The ``ACL SETUSER`` rules of an officer user (after ``reset``)."""
    if len(password) < 8:
        raise ImproperlyConfigured("officer passwords must have at least 8 characters")
    return ["reset", "on", f">{password}", *key_patterns(scope, prefix, h), "-@all", *OFFICER_COMMANDS]


async def add_user(
    client: AnyRedis,
    scope: str,
    name: str,
    password: str,
    prefix: str = DEFAULT_PREFIX,
    h: units.Hierarchy | None = None,
) -> bool:
    """Create or replace an officer user and register its scope (a unit code); True when ACL SAVE ran."""
    check_name(name)
    rules = acl_rules(scope, password, prefix, h)  # starts with reset: exactly these rules
    await all_nodes(client, "ACL", "SETUSER", name, *rules)  # per node on a cluster
    await client.hset(f"{prefix}officers", name, scope)
    try:
        aclfile = cast(dict[str, Any], await client.config_get("aclfile"))
    except rexc.ResponseError:
        return False
    if aclfile.get("aclfile"):
        await all_nodes(client, "ACL", "SAVE")
        return True
    return False


def anonymous_url(redis_url: str) -> str:
    """`redis_url` without credentials: no ``user:pass@`` and no username/password query args.

    redis-py lets credentials in the URL override the ``username=``/``password=`` arguments,
    so with ``WARNING_REDIS_URL=redis://engine:secret@host`` an officer client built from the
    raw URL would speak (and log in) as the engine, whatever password was typed.
    """
    parts = urlsplit(redis_url)
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("username", "password")]
    )
    # spelled out rather than urlunsplit, which drops the "//" of unix:///path when the host is empty
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}" + (f"?{query}" if query else "")


async def verify_password(redis_url: str, name: str, password: str) -> bool:
    """True when Redis accepts `name`/`password` (the officer's ACL user is the credential)."""
    if not NAME_RE.match(name):
        return False
    client = aioredis.Redis.from_url(  # any node of a cluster knows every officer (add_user)
        anonymous_url(node_url(redis_url)), username=name, password=password, socket_connect_timeout=2.0
    )
    try:
        return bool(await client.ping())
    except (rexc.AuthenticationError, rexc.AuthenticationWrongNumberOfArgsError, rexc.ResponseError):
        return False
    finally:
        await client.aclose()


def officer_client(redis_url: str, name: str, password: str) -> AnyRedis:
    """A client that speaks as the officer (for `warning feed`), cluster-aware for a cluster URL."""
    return client_from_url(
        anonymous_url(redis_url), username=name, password=password, decode_responses=True, socket_timeout=None
    )


def register(app: typer.Typer) -> None:
    """Add ``warning acl add-user`` to the ``warning`` app."""
    import asyncio

    acl_app = typer.Typer(no_args_is_help=True, help="Duty officers' Redis ACL users.")
    app.add_typer(acl_app, name="acl")

    @acl_app.command("add-user")
    def add_user_cmd(
        unit: Annotated[
            str, typer.Option(help="scope: district, a unit code (Sxx-Cxx or the units file's) or dept:<code>")
        ],
        name: Annotated[str, typer.Option(help="login (a-z 0-9 _ . -)")],
        password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="at least 8 characters")],
    ) -> None:
        """Create or replace an officer's Redis user reading only its unit's feeds and below.

        Keys (the feed patterns and the officers table) are under ``WARNING_REDIS_PREFIX``.
        """
        from warning import settings as settings_mod
        from warning.units_cli import configured_hierarchy

        cfg = settings_mod.load()
        h = configured_hierarchy(cfg)

        async def run() -> bool:
            client = client_from_url(cfg.redis_url, decode_responses=True)
            try:
                return await add_user(client, check_scope(unit, h), name, password, prefix=cfg.redis_prefix, h=h)
            finally:
                await client.aclose()

        saved = asyncio.run(run())
        typer.echo(
            f"user {name}: feeds {' '.join(key_patterns(unit, cfg.redis_prefix, h))}"
            + ("; ACL SAVE done" if saved else "; no aclfile configured (not persisted)")
        )

"""The programs' own Redis ACL users (engine, console, cli) and the ACL file that holds them.

Why three users and not one: each program gets only what it does, and the audit trail can
name the connection (``ACL WHOAMI``) that made a change.

* ``engine`` (`warning worker`): writes alerts, feeds, indexes, occurrence marks and the audit
  stream (one Lua script a write) and creates each desk's consumer group with its feed. Every
  data command on every key, nothing ``@dangerous`` (no FLUSHDB, KEYS, CONFIG, ACL, DEBUG,
  SHUTDOWN, MONITOR, INFO, SORT, MIGRATE/RESTORE, replication).
* ``console`` (`warning console`): reads alerts, writes lifecycle changes and the audit (the same
  script, which also makes sure each feed it writes has its desk group), keeps sessions and
  login counters. As the engine, plus ``ACL GETUSER`` so a deleted officer's session ends on
  the next request (it also shows password hashes; ``ACL USERS`` would do, with a change in
  `warning.desk.console.sessions`).
* ``cli`` (every other `warning` command: ack/resolve, reports, archive, ``acl add-user``,
  demo, tests): the operator's tool. It provisions officers with ``ACL SETUSER``, which can
  grant anything, so restricting it further would be theatre: ``+@all``. Guard its password
  like a root password (the local stack keeps it in a 0600 file).

Keys are ``~*`` for all three: one Redis may hold several districts' prefixes, and the tests
run workers under per-test prefixes; key scoping is what officers' users are for
(`warning.delivery.acl`). Officers' users are untouched here.

`default` is disabled (``off``, no password, no commands), so a client that forgets to log in,
or an officer login that fails in redis-cli, gets ``NOAUTH`` instead of full access.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

from warning.core.errors import WarningError
from warning.settings import REDIS_ROLES, RedisRole

ROLE_RULES: Final[Mapping[RedisRole, tuple[str, ...]]] = {
    "engine": ("~*", "&*", "+@all", "-@dangerous"),
    "console": ("~*", "&*", "+@all", "-@dangerous", "+acl|getuser"),
    "cli": ("~*", "&*", "+@all"),
}
DEFAULT_OFF: Final = "user default off resetchannels -@all"


def password_hash(password: str) -> str:
    """The ``#<sha256>`` form Redis accepts in an ACL file, so no plaintext password sits in it."""
    return "#" + hashlib.sha256(password.encode("utf-8")).hexdigest()


def role_rules(role: RedisRole, password: str) -> list[str]:
    """``ACL SETUSER <role>`` rules (after ``reset``): on, its password, its keys and commands."""
    return ["reset", "on", password_hash(password), *ROLE_RULES[role]]


def acl_file_text(existing: str, passwords: Mapping[RedisRole, str]) -> str:
    """The ACL file to start with: `default` off, the role users as `passwords` say, the rest kept.

    `existing` is the file as the last ``ACL SAVE`` left it (officers' users, possibly an open
    `default` from an older stack, possibly stale role lines): officers are carried over
    verbatim, `default` and the role users are rewritten.
    """
    ours = {"default", *REDIS_ROLES}
    kept = [
        line
        for line in existing.splitlines()
        if line.strip() and not (line.split()[0] == "user" and len(line.split()) > 1 and line.split()[1] in ours)
    ]
    roles = [f"user {role} " + " ".join(role_rules(role, passwords[role])[1:]) for role in REDIS_ROLES]
    return "\n".join([DEFAULT_OFF, *roles, *kept]) + "\n"


SHARED_IDENTITIES: Final = frozenset({"default", *REDIS_ROLES})
"""Redis users several people share: a name given with ``--by`` over them is unverified."""


class IdentityMismatch(WarningError):
    """``--by`` names someone other than the Redis user actually connected."""


def audit_actor(by: str | None, officer: str | None, whoami: str) -> tuple[str, bool]:
    """Who an audit line names, and whether Redis vouches for it: ``(actor, verified)``.

    * an officer authenticated with ``--user`` (password checked against its ACL user): that
      login, verified;
    * a personal Redis user (``WARNING_REDIS_USER=zhang``): that user; a different ``--by`` is
      refused, since the line would name someone who did not act;
    * a shared program user (``cli``, ``default``, ...): ``--by`` as given, unverified; the line
      also records `whoami`, so the trail shows which connection wrote it.
    """
    if officer:
        return officer, True
    if whoami and whoami not in SHARED_IDENTITIES:
        if by and by != whoami:
            raise IdentityMismatch(
                f"--by {by} 与连接 Redis 的用户 {whoami} 不一致 / --by {by} differs from the Redis ACL user "
                f"connected ({whoami}): the audit would name someone who did not act"
            )
        return whoami, True
    if not by:
        raise IdentityMismatch("需要 --by 姓名 或 --user 登录名 / give --by NAME (operator) or --user LOGIN (officer)")
    return by, False

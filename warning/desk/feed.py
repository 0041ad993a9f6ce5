"""Duty officers' command line: follow a desk's feed, acknowledge/resolve, query history.

``warning feed --unit U`` reads ``warning:feed:<U>`` through a Redis **consumer group per
desk** (``--group``, default ``desk``; each officer is a consumer in it), so a desk has its
own cursor, independent of every other desk and of the console. Semantics:

1. on start it first re-reads its **own pending entries** (ID ``0``): entries it was given
   before but never acknowledged, e.g. because the terminal crashed mid-display;
2. then it reads new entries (ID ``>``), blocking up to ``--timeout`` seconds;
3. each entry is ``XACK``-ed **after** it has been printed: at-least-once display. A crash
   between print and ack shows that entry again on the next start; nothing is skipped.

A new group starts at the beginning of the retained feed (``0``), so alerts delivered before
a desk first subscribed are not missed. ``XACK`` acknowledges *receipt*; taking the case
(签收) is ``warning ack``, which changes the alert's lifecycle state and is audited.

With ``--user/--password`` the feed is read as the officer's Redis ACL user (`warning.delivery.acl`),
which can read only its unit's feeds and those below; without them the engine's own
connection (``WARNING_REDIS_URL``) is used, which suits the operator's terminal and tests.

``warning ack`` / ``warning resolve`` change state through the engine's connection (officer
users cannot write alert hashes, by design), so with ``--user`` the officer is authenticated
here instead: the password is checked against the officer's Redis ACL user
(`warning.delivery.acl.verify_password`), the unit scope is read from the officers table, an alert
outside that scope is refused (exit 2), and the audit records the login. Every audit line also
records the Redis ACL user this connection is (``ACL WHOAMI``: ``identity``). Without ``--user``
(the operator's terminal) over a personal Redis user (``WARNING_REDIS_USER``) the audit records
that user and a different ``--by`` is refused; over the shared ``cli`` user ``--by`` is recorded
as given and flagged unverified (`warning.delivery.service_users.audit_actor`).

Every key is under ``WARNING_REDIS_PREFIX`` (default ``warning:``).

Filters (``--type``, ``--level``, ``--state``; ``--state open`` = any open state) choose what is
*shown*; entries filtered out are still acknowledged as received, so a wall screen that shows
only red alerts should read as its own consumer group (``--group wall``, created by the operator)
rather than take entries from the desk's group. ``--compact`` prints one line per alert
(`compact_line`). With a units file in force (``warning units load``) the unit is checked against
it and the feed key is the unit's path key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from redis import exceptions as rexc
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from warning.core import units
from warning.core.errors import WarningError
from warning.core.lifecycle import OPEN, OUTCOME_LABELS, OUTCOMES, STATE_LABELS, AlertRecord
from warning.core.routing import ALL_FEED, DEPT_PREFIX, KIND_LABELS
from warning.core.taxonomy import ALERT_TYPE_LABELS, LEVEL_LABELS, category_label
from warning.sinks.connect import AnyRedis, client_from_url

LEVEL_STYLES = {"blue": "bold blue", "yellow": "bold yellow", "orange": "bold dark_orange", "red": "bold red"}


def render_entry(fields: dict[str, str], h: units.Hierarchy | None = None) -> Panel:
    """A feed entry as a Chinese panel coloured by level; the unit's name beside its code with a units file."""
    alert: dict[str, Any] = json.loads(fields.get("alert", "{}"))
    level = fields.get("level", alert.get("level", "blue"))
    style = LEVEL_STYLES.get(level, "bold")
    head = Text()
    head.append(f"【{LEVEL_LABELS.get(level, level)}】", style=style)
    head.append(f"[{KIND_LABELS.get(fields.get('kind', ''), fields.get('kind', ''))}] ")
    head.append(fields.get("title", alert.get("title", "")), style="bold")
    info = Table.grid(padding=(0, 2))
    info.add_column(style="dim")
    info.add_column()
    atype = alert.get("type", fields.get("type", ""))
    info.add_row("类型", f"{ALERT_TYPE_LABELS.get(atype, atype)}  {category_label(alert.get('category', ''))}")
    unit = fields.get("unit", alert.get("unit", ""))
    named = h is not None and units.is_unit(unit, h)
    info.add_row("单位", f"{units.name_of(unit, h)}  {unit}" if named else unit)
    info.add_row("状态", STATE_LABELS.get(fields.get("state", ""), fields.get("state", "")))  # type: ignore[call-overload]  # str keys of a Literal dict
    info.add_row("次数", fields.get("count", "1"))
    info.add_row("证据", f"{len(alert.get('evidence', []))} 条事件")
    if alert.get("score") is not None:
        info.add_row("评分", f"{alert['score']:.2f}")
    info.add_row("建议处置", alert.get("action", "") or "—")
    info.add_row("预警编号", fields.get("alert_id", ""))
    info.add_row("时间", fields.get("created_at", ""))
    ind = Table("指标", "当前值", "阈值", "贡献", box=None, header_style="dim")
    for i in alert.get("indicators", []):
        ind.add_row(
            i.get("label") or i["name"], f"{i['value']:g}", f"{i['threshold']:g}", f"{i.get('contribution', 1):.2f}"
        )
    return Panel(Group(head, info, ind), border_style=style, expand=False)


def matches(
    fields: dict[str, str], type: str | None = None, level: str | None = None, state: str | None = None
) -> bool:
    """True when a feed entry passes the filters (None: any; state ``open``: any open state)."""
    atype = fields.get("type") or json.loads(fields.get("alert", "{}")).get("type", "")
    entry_state = fields.get("state", "")
    return (
        (type is None or atype == type)
        and (level is None or fields.get("level") == level)
        and (state is None or (entry_state in OPEN if state == "open" else entry_state == state))
    )


def _label(labels: Mapping[Any, str], code: str) -> str:
    return labels.get(code, code)


def compact_line(fields: dict[str, str], h: units.Hierarchy | None = None) -> Text:
    """One line per alert for a wall screen: time, level, id, kind, type, unit name, state, title."""
    alert: dict[str, Any] = json.loads(fields.get("alert", "{}"))
    level = fields.get("level", alert.get("level", "blue"))
    unit = fields.get("unit", alert.get("unit", ""))
    name = units.name_of(unit, h) if units.is_unit(unit, h) else unit
    atype = fields.get("type") or alert.get("type", "")
    state = fields.get("state", "")
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(fields.get("created_at", "")[5:16].replace("T", " ") + " ")
    line.append(f"【{_label(LEVEL_LABELS, level)}】", style=LEVEL_STYLES.get(level, "bold"))
    line.append(f"#{fields.get('alert_id', '')} ", style="dim")  # before the title: a narrow screen cuts the title
    line.append(f"{KIND_LABELS.get(fields.get('kind', ''), '')} {_label(ALERT_TYPE_LABELS, atype)} ")
    line.append(name if name == unit else f"{name}({unit})", style="bold")
    line.append(f" {_label(STATE_LABELS, state)} ")
    line.append(fields.get("title", alert.get("title", "")))
    return line


def feed_name(unit: str, h: units.Hierarchy | None = None) -> str:
    """The feed a desk of `unit` reads: ``all``, a department's, or the unit's path key."""
    return unit if unit == ALL_FEED or unit.startswith(DEPT_PREFIX) else units.feed_key(unit, h)


async def ensure_group(client: AnyRedis, key: str, group: str, from_now: bool = False) -> None:
    """Create the desk's consumer group unless it exists: from the start of the feed, or from now.

    An officer's user may not (NOPERM): the engine created the ``desk`` group with the feed, and
    any other group is the operator's to create (`warning feed` without ``--user``).
    """
    try:
        await client.xgroup_create(key, group, id="$" if from_now else "0", mkstream=True)
    except rexc.NoPermissionError:
        return
    except rexc.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _entries(resp: Any) -> list[tuple[str, dict[str, str] | None]]:
    """Entries of a one-stream XREADGROUP reply (decoded)."""
    return cast(list[tuple[str, dict[str, str] | None]], resp[0][1] if resp else [])


async def follow(
    client: AnyRedis,
    key: str,
    group: str,
    consumer: str,
    show: Callable[[str, dict[str, str]], None],
    *,
    keep: Callable[[dict[str, str]], bool] | None = None,
    max_entries: int | None = None,
    timeout: float | None = None,
    once: bool = False,
    from_now: bool = False,
) -> int:
    """Replay own pending entries, then read new ones; XACK each after `show`. Returns the count shown.

    Entries `keep` refuses are acknowledged without being shown (see the module's note on filters).
    """
    await ensure_group(client, key, group, from_now)
    shown = 0

    async def deliver(entries: list[tuple[str, dict[str, str] | None]]) -> bool:
        nonlocal shown
        for entry_id, fields in entries:
            if fields and (keep is None or keep(fields)):  # None: trimmed since it was handed out
                show(entry_id, fields)
                shown += 1
            await client.xack(key, group, entry_id)
            if max_entries is not None and shown >= max_entries:
                return True
        return False

    cursor = "0"
    while True:  # 1. own pending entries (a crash between display and XACK)
        entries = _entries(await client.xreadgroup(group, consumer, {key: cursor}, count=100))
        if not entries:
            break
        if await deliver(entries):
            return shown
        cursor = entries[-1][0]
    if once and shown:
        return shown
    block = int((timeout if timeout is not None else 0) * 1000)
    while True:  # 2. new entries
        entries = _entries(await client.xreadgroup(group, consumer, {key: ">"}, count=20, block=block or None))
        if not entries:
            if timeout is not None:
                return shown
            continue
        if await deliver(entries) or once:
            return shown


def check_filters(type: str | None, level: str | None, state: str | None) -> None:
    """ValueError naming a filter value outside the vocabulary (the command exits 2)."""
    for name, value, allowed in (
        ("--type", type, ALERT_TYPE_LABELS),
        ("--level", level, LEVEL_LABELS),
        ("--state", state, [*STATE_LABELS, "open"]),
    ):
        if value is not None and value not in allowed:
            raise ValueError(f"{name} {value}: expected one of {', '.join(allowed)}")


# --- commands ------------------------------------------------------------------------------
def _deliverer(cfg: Any = None) -> Any:
    from warning import settings as settings_mod
    from warning.delivery.router import build_deliverer
    from warning.thresholds import Reloader

    cfg = cfg or settings_mod.load()
    return build_deliverer(cfg, Reloader(cfg.thresholds_file), None)


def _fail(exc: Exception) -> None:
    Console(stderr=True).print(f"[bold red]错误:[/] {exc}")
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``feed``, ``ack``, ``resolve`` and ``alerts list|show`` to the ``warning`` app."""
    alerts_app = typer.Typer(no_args_is_help=True, help="预警历史查询 (history of alerts).")
    app.add_typer(alerts_app, name="alerts")

    @app.command("feed")
    def feed_cmd(
        unit: Annotated[str, typer.Option(help="unit (S03, S03-C02, district, dept:rsj) or all (whole district)")],
        user: Annotated[str | None, typer.Option(help="officer's Redis ACL user")] = None,
        password: Annotated[str | None, typer.Option(help="password (prompted when --user is given)")] = None,
        group: Annotated[str, typer.Option(help="consumer group = the duty desk")] = "desk",
        consumer: Annotated[str | None, typer.Option(help="consumer name (default: --user or 'cli')")] = None,
        once: Annotated[bool, typer.Option(help="exit after the first batch")] = False,
        max: Annotated[int | None, typer.Option("--max", help="exit after N entries")] = None,
        timeout: Annotated[float | None, typer.Option(help="exit after S seconds without a new entry")] = None,
        from_now: Annotated[bool, typer.Option(help="a new desk starts at new alerts, not the feed's history")] = False,
        type: Annotated[str | None, typer.Option(help="only dynamic|pattern|relational|case")] = None,
        level: Annotated[str | None, typer.Option(help="only blue|yellow|orange|red")] = None,
        state: Annotated[
            str | None, typer.Option(help="only this state (new, acknowledged, ...; open = any open)")
        ] = None,
        compact: Annotated[bool, typer.Option(help="one line per alert (wall screen)")] = False,
    ) -> None:
        """值班订阅: follow the desk's alert feed (consumer group; pending entries replayed first)."""
        from warning import settings as settings_mod
        from warning.delivery import acl
        from warning.units_cli import configured_hierarchy

        cfg = settings_mod.load()
        try:
            check_filters(type, level, state)
            h = configured_hierarchy(cfg)
            if unit != "all":  # the district-wide feed (every alert); only district-scope users may read it
                acl.check_scope(unit, h)
        except (WarningError, ValueError) as exc:
            _fail(exc)
            return
        if user and password is None:
            password = typer.prompt("密码", hide_input=True)
        console = Console()

        def show(entry_id: str, fields: dict[str, str]) -> None:
            if compact:
                console.print(compact_line(fields, h), no_wrap=True, overflow="ellipsis", crop=True)
            else:
                console.print(render_entry(fields, h))

        async def run() -> int:
            client = (
                acl.officer_client(cfg.redis_url, user, password or "")
                if user
                else client_from_url(cfg.redis_url, decode_responses=True)
            )
            try:
                return await follow(
                    client,
                    f"{cfg.redis_prefix}feed:{feed_name(unit, h)}",
                    group,
                    consumer or user or "cli",
                    show,
                    keep=lambda f: matches(f, type, level, state),
                    max_entries=max,
                    timeout=timeout,
                    once=once,
                    from_now=from_now,
                )
            finally:
                await client.aclose()

        try:
            n = asyncio.run(run())
        except rexc.NoPermissionError:
            _fail(PermissionError(f"用户 {user} 无权读取 {unit} 的预警 (NOPERM)"))
            return
        except rexc.AuthenticationError:
            _fail(PermissionError("用户名或密码错误"))
            return
        except rexc.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            _fail(
                LookupError(
                    f"{unit} 尚无订阅组 {group}: 引擎在首条预警送达时创建 desk 组, 其他组由管理员创建 / "
                    f"no consumer group {group} on this feed yet (the engine creates 'desk' with the first alert)"
                )
            )
            return
        except KeyboardInterrupt:
            return
        Console(stderr=True).print(f"[dim]已显示 {n} 条[/]")

    def _transition(
        alert_id: str,
        action: str,
        by: str | None,
        note: str,
        outcome: str = "",
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        from warning import settings as settings_mod
        from warning.delivery import acl
        from warning.delivery.service_users import audit_actor
        from warning.sinks.redis import RedisAlertSink

        if user is not None and by and by != user:
            _fail(
                ValueError(
                    f"--by {by} 与 --user {user} 不一致: 审计记录登录的值班员 / "
                    "--by differs from --user: the audit records the authenticated officer"
                )
            )
            return
        if user is not None and password is None:
            password = typer.prompt("密码 (password)", hide_input=True)
        cfg = settings_mod.load()
        said: dict[str, Any] = {}

        async def run() -> AlertRecord:
            d = _deliverer(cfg)
            try:
                # the identity Redis authenticated for this very connection, not a name we were told
                whoami = str(await d.sink.client.acl_whoami()) if isinstance(d.sink, RedisAlertSink) else ""
                actor, verified = audit_actor(by, user, whoami)
                said.update(actor=actor, verified=verified, whoami=whoami)
                scope: str | None = None
                if user is not None:
                    if not await acl.verify_password(cfg.redis_url, user, password or ""):
                        raise acl.AuthenticationFailed("用户名或密码错误 / wrong user name or password")
                    scope = await d.sink.officer_unit(user)
                    if scope is None:
                        raise acl.AuthenticationFailed(
                            f"用户 {user} 未登记辖区 (warning acl add-user) / "
                            f"officer {user} has no registered unit scope (warning acl add-user)"
                        )
                rec: AlertRecord = await d.transition(
                    alert_id, action, by=actor, note=note, outcome=outcome, scope=scope, identity=whoami
                )
                return rec
            finally:
                await d.sink.close()

        try:
            rec = asyncio.run(run())
        except WarningError as exc:
            _fail(exc)
            return
        Console().print(f"{alert_id}: {STATE_LABELS[rec.state]} ({rec.state}) by {said['actor']}")
        if not said["verified"]:
            Console(stderr=True).print(
                f"[yellow]未核验:[/] --by {said['actor']} 经共用 Redis 用户 {said['whoami'] or '?'} 写入, "
                "审计同时记录该用户; 用 --user 登录可核验 / unverified: written over the shared Redis user "
                f"{said['whoami'] or '?'}, which the audit records too; --user authenticates the officer"
            )

    @app.command("ack")
    def ack_cmd(
        alert_id: str,
        by: Annotated[str | None, typer.Option(help="operator: name recorded in the audit (without --user)")] = None,
        note: Annotated[str, typer.Option(help="note")] = "",
        user: Annotated[str | None, typer.Option(help="officer's login: authenticated, scope-checked, audited")] = None,
        password: Annotated[str | None, typer.Option(help="password (prompted when --user is given)")] = None,
    ) -> None:
        """签收: acknowledge an alert (stops its escalation timer; audited)."""
        _transition(alert_id, "acknowledge", by, note, user=user, password=password)

    @app.command("resolve")
    def resolve_cmd(
        alert_id: str,
        note: Annotated[str, typer.Option(help="how it was resolved")],
        by: Annotated[str | None, typer.Option(help="operator: name recorded in the audit (without --user)")] = None,
        outcome: Annotated[str, typer.Option(help=f"one of {', '.join(OUTCOMES)}")] = "resolved_by_mediation",
        user: Annotated[str | None, typer.Option(help="officer's login: authenticated, scope-checked, audited")] = None,
        password: Annotated[str | None, typer.Option(help="password (prompted when --user is given)")] = None,
    ) -> None:
        """化解: resolve an acknowledged alert with an outcome label (audited)."""
        _transition(alert_id, "resolve", by, note, outcome, user=user, password=password)

    @alerts_app.command("list")
    def list_cmd(
        unit: Annotated[str | None, typer.Option(help="unit code: the unit and everything below")] = None,
        type: Annotated[str | None, typer.Option(help="dynamic|pattern|relational|case")] = None,
        level: Annotated[str | None, typer.Option(help="blue|yellow|orange|red")] = None,
        state: Annotated[str | None, typer.Option(help="new|acknowledged|in_handling|...")] = None,
        since: Annotated[
            datetime | None,
            typer.Option(help="last seen at or after (ISO time)", formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"]),
        ] = None,
        limit: Annotated[int, typer.Option(help="at most N rows")] = 50,
    ) -> None:
        """List alerts, newest first."""

        async def run() -> list[AlertRecord]:
            d = _deliverer()
            try:
                recs: list[AlertRecord] = await d.sink.query(
                    unit=unit, type=type, level=level, state=state, since=since, limit=limit
                )
                return recs
            finally:
                await d.sink.close()

        recs = asyncio.run(run())
        table = Table("预警编号", "级别", "类型", "单位", "状态", "次数", "最近", "标题")
        for r in recs:
            table.add_row(
                r.alert_id,
                Text(LEVEL_LABELS[r.level], style=LEVEL_STYLES[r.level]),
                ALERT_TYPE_LABELS[r.alert.type],
                r.alert.unit,
                STATE_LABELS[r.state],
                str(r.count),
                r.last_seen.isoformat(timespec="minutes"),
                r.alert.title,
            )
        Console().print(table)

    @alerts_app.command("show")
    def show_cmd(
        alert_id: str,
        details: Annotated[bool, typer.Option(help="also show person-level details (audited)")] = False,
        by: Annotated[str | None, typer.Option(help="who reads the details (required with --details)")] = None,
    ) -> None:
        """Show one alert, its audit trail and (audited) its person-level details."""
        if details and not by:
            _fail(ValueError("--details needs --by NAME: reading person-level details is audited"))

        async def run() -> tuple[AlertRecord | None, list[Any], Any]:
            d = _deliverer()
            try:
                rec = await d.sink.load(alert_id)
                extra = await d.read_details(alert_id, by=by or "") if (details and rec) else None
                trail = await d.sink.audit(alert_id)
                return rec, trail, extra
            finally:
                await d.sink.close()

        rec, trail, extra = asyncio.run(run())
        if rec is None:
            _fail(KeyError(f"no alert {alert_id}"))
            return
        from warning.core.routing import feed_entry

        console = Console()
        console.print(render_entry(feed_entry(rec, "update")))
        console.print(
            f"送达: {', '.join(rec.feeds)}  首次 {rec.first_seen.isoformat()}  最近 {rec.last_seen.isoformat()}"
        )
        if rec.outcome:
            console.print(f"结果: {OUTCOME_LABELS.get(rec.outcome, rec.outcome)}")
        table = Table("时间", "动作", "人员", "从", "到", "说明", title="审计记录")
        for e in trail:
            table.add_row(
                e.at.isoformat(timespec="seconds"), e.action, e.actor, e.from_state, e.to_state, e.note or e.outcome
            )
        console.print(table)
        if extra is not None:
            console.print_json(json.dumps(extra, ensure_ascii=False))

    @alerts_app.command("archive")
    def archive_cmd(
        older_than: Annotated[
            int | None, typer.Option(help="days since last seen (default: [delivery] archive_after_days)")
        ] = None,
        out: Annotated[
            Path | None, typer.Option(help="JSON-lines file appended to (default: <data_dir>/archive/alerts.jsonl)")
        ] = None,
    ) -> None:
        """归档: move old closed alerts and old audit lines from Redis to a JSON-lines file (fsynced first)."""
        from warning import settings as settings_mod
        from warning import thresholds as thresholds_mod
        from warning.sinks.redis import RedisAlertSink, jsonl_writer

        cfg = settings_mod.load()
        policy = thresholds_mod.load(cfg.thresholds_file).thresholds.delivery
        days = older_than if older_than is not None else policy.archive_after_days
        target = out or cfg.data_dir / "archive" / "alerts.jsonl"
        before = datetime.now(UTC) - timedelta(days=days)

        async def run() -> Any:
            d = _deliverer(cfg)
            try:
                if not isinstance(d.sink, RedisAlertSink):
                    raise WarningError("archive needs the Redis sink (WARNING_REDIS_URL=redis://...)")
                return await d.sink.archive(before, jsonl_writer(target), states=policy.archive_states)
            finally:
                await d.sink.close()

        try:
            result = asyncio.run(run())
        except WarningError as exc:
            _fail(exc)
            return
        cutoff = before.isoformat(timespec="seconds")
        Console().print(
            f"归档 {result.alerts} 条预警, {result.audit_lines} 条审计记录 (早于 {cutoff}) -> {target}"
            + (f"; {result.skipped} 条归档后又有变动, 保留在 Redis" if result.skipped else "")
        )

"""Duty officers' web console (aiohttp + server-sent events); see `warning.desk.console.app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``warning console`` to the ``warning`` app."""

    @app.command("console")
    def console_cmd(
        port: Annotated[int | None, typer.Option(help="HTTP port (default WARNING_CONSOLE_PORT)")] = None,
        host: Annotated[
            str | None, typer.Option(help="bind address (default WARNING_BIND_HOST; internal network only)")
        ] = None,
        secret_file: Annotated[
            Path | None,
            typer.Option(help="file with the key session tokens are hashed with; default: random per process"),
        ] = None,
    ) -> None:
        """值班台网页: live alerts per unit with acknowledge/resolve (internal network only)."""
        import os

        from aiohttp import web

        from warning import logs
        from warning import settings as settings_mod
        from warning.delivery import acl
        from warning.delivery.router import build_deliverer
        from warning.desk.console.app import create_app
        from warning.metrics import Metrics
        from warning.thresholds import Reloader

        cfg = settings_mod.load("console")  # the console's own Redis ACL user
        logs.configure(cfg.log_level, cfg.log_json)
        secret = secret_file.read_bytes().strip() if secret_file else os.urandom(32)
        from prometheus_client import CollectorRegistry

        # keys under WARNING_REDIS_PREFIX, like the worker's: the console reads what the worker wrote
        deliverer = build_deliverer(cfg, Reloader(cfg.thresholds_file), Metrics.create(CollectorRegistry()))

        async def authenticate(name: str, password: str) -> bool:
            return await acl.verify_password(cfg.redis_url, name, password)

        web.run_app(
            create_app(deliverer, authenticate, secret=secret, zone=cfg.zone()),
            host=host or cfg.bind_host,
            port=port or cfg.console_port,
            shutdown_timeout=2.0,
        )

"""console."""

from __future__ import annotations

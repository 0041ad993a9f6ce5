"""Streaming risk early-warning engine for grassroots social governance."""

from __future__ import annotations

__version__ = "0.1.0"

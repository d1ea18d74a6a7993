"""Verified off-site backups and safe restores (``bookedbiz sync``)."""

from __future__ import annotations

from bookedbiz.backup.manifest import last_backup_info

__all__ = ["last_backup_info"]

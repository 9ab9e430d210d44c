"""Why a backup or a restore was refused."""

from __future__ import annotations


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message names the folder or the tool, never a secret."""

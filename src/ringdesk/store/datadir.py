"""The data directory: the database, the secret key, sounds, recordings and the switch's
registrations live here, readable by the service user only (docs/security.md, "Secrets")."""

from __future__ import annotations

import os
from pathlib import Path

from ringdesk.store.secrets import tighten


def prepare(data_dir: Path) -> list[Path]:
    """Create the data dir (0700) and take group and other access away from anything in it an
    older version or a wide umask left open. Returns the paths that were wider, to log."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    widened: list[Path] = []
    if tighten(data_dir):
        widened.append(data_dir)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = Path(root) / name
            if not path.is_symlink() and tighten(path):
                widened.append(path)
    return widened

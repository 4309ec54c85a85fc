"""Sound files: generated defaults and admin uploads, both kept under the data directory."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy.orm import Session

from ringdesk.store import models as m

log = logging.getLogger(__name__)

SOUND_NAMES = ("hold_music", "force_disconnect", "queue_music", "overflow")
MUSIC_NAMES = ("hold_music", "queue_music")  # played as they are: an upload, or the default


class Sounds:
    def __init__(self, data_dir: Path) -> None:
        self.default_dir = data_dir / "sounds" / "default"
        self.custom_dir = data_dir / "sounds" / "custom"
        self.defaults: dict[str, Path] = {}

    def ensure_defaults(self) -> None:
        """Generate the default sounds once (the media package synthesises them)."""
        self.default_dir.mkdir(parents=True, exist_ok=True)
        self.custom_dir.mkdir(parents=True, exist_ok=True)
        try:
            from ringdesk.media.sounds import generate_defaults
        except ImportError:
            log.error("ringdesk.media.sounds is missing: no default sounds generated")
            return
        self.defaults = {name: Path(p) for name, p in generate_defaults(self.default_dir).items()}

    def paths(self, db: Session) -> dict[str, Path]:
        """Name -> the file to play: the upload if there is one, else the default."""
        result = dict(self.defaults)
        for row in db.query(m.Sound).all():
            if row.filename is None:
                continue  # a prompt set as text (texts)
            path = self.custom_dir / row.filename
            if path.exists():
                result[row.name] = path
        return result

    def uploads(self, db: Session) -> frozenset[str]:
        """The names an admin uploaded a WAV for."""
        rows = db.query(m.Sound.name).filter(m.Sound.filename.is_not(None)).all()
        return frozenset(name for (name,) in rows)

    @staticmethod
    def texts(db: Session) -> dict[str, str]:
        """Name -> the text an admin typed for that prompt (spoken by the switch)."""
        rows = db.query(m.Sound.name, m.Sound.text).filter(m.Sound.text.is_not(None)).all()
        return {name: text for name, text in rows if text}

    def save_text(self, db: Session, name: str, text: str) -> None:
        """The prompt is spoken from `text` from now on (an upload of it is removed)."""
        row = db.get(m.Sound, name)
        if row is None:
            db.add(m.Sound(name=name, filename=None, text=text, uploaded_at=time.time()))
        else:
            row.filename = None
            row.text = text
            row.uploaded_at = time.time()
        db.commit()
        (self.custom_dir / f"{name}.wav").unlink(missing_ok=True)

    def save_upload(self, db: Session, name: str, data: bytes) -> None:
        filename = f"{name}.wav"
        tmp = self.custom_dir / f".{filename}.tmp"
        tmp.write_bytes(data)
        tmp.replace(self.custom_dir / filename)  # atomic: a playing call never reads half a file
        row = db.get(m.Sound, name)
        if row is None:
            db.add(m.Sound(name=name, filename=filename, uploaded_at=time.time()))
        else:
            row.filename = filename
            row.text = None
            row.uploaded_at = time.time()
        db.commit()

    def restore_default(self, db: Session, name: str) -> None:
        row = db.get(m.Sound, name)
        if row is not None:
            db.delete(row)
            db.commit()
        (self.custom_dir / f"{name}.wav").unlink(missing_ok=True)

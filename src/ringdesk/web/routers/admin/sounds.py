"""Sounds and prompts: what a caller hears, each an uploaded WAV, typed text spoken by the
switch's text-to-speech, or the default.

The music (hold and queue) is played as it is: an upload or the built-in file, never text. Every
other prompt (core/prompts.py DEFAULT_TEXTS) may also be text; an object's own prompt
("closed.2", "queue_message.2", "menu.3") falls back to the global one of the same name, then
to the default text, exactly as the switch resolves it (switch/playback.py), so what an admin
listens to here is what a caller hears.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from ringdesk.core.prompts import (
    DEFAULT_TEXTS,
    MUSIC,
    NOTICE,
    POSITION,
    base_name,
    per,
    position_text,
    template_problem,
)
from ringdesk.media.speech import INSTALL_HINT, SpeechUnavailable
from ringdesk.runtime import Runtime
from ringdesk.store import menus, services
from ringdesk.store.sounds import SOUND_NAMES, Sounds
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError
from ringdesk.web.responses import MenuPrompt, Prompt
from ringdesk.web.routers.admin.common import PREFIX
from ringdesk.web.schemas import PromptTextBody

router = APIRouter(prefix=PREFIX, tags=["admin"])
_BASES = tuple(dict.fromkeys((*SOUND_NAMES, *DEFAULT_TEXTS)))
# A sound or a global prompt, or an object's own prompt: the global name, a dot and its id.
NAME_PATTERN = "^(" + "|".join(_BASES) + r")(\.[0-9]{1,10})?$"
SoundName = Annotated[str, Path(pattern=NAME_PATTERN, max_length=32)]
MAX_WAV = 16 * 1024 * 1024

# What each global prompt is, as the admin page names it.
LABELS: dict[str, str] = {
    "hold_music": "Hold music",
    "queue_music": "Queue music",
    "closed": "Closed message",
    "menu": "Menu prompt",
    "menu_invalid": "Invalid menu choice",
    "goodbye": "Goodbye",
    "queue_message": "Queue message",
    "force_disconnect": "Force-disconnect message",
    "overflow": "Overflow message",
    "voicemail": "Voicemail greeting",
    "voicemail_saved": "Voicemail saved",
    "callback_offer": "Callback offer",
    "callback_confirm": "Callback: confirm the number",
    "callback_number": "Callback: key in a number",
    "callback_invalid": "Callback: number not callable",
    "callback_booked": "Callback booked",
    POSITION: "Position in the queue ({position}, {wait})",
    NOTICE: "This call may be recorded",
}
# The prompts a service has of its own, and a menu's (core/callback.py says which of the
# callback prompts are per service: all but callback_invalid).
SERVICE_PROMPTS = (
    "closed",
    "queue_message",
    "voicemail",
    "callback_offer",
    "callback_confirm",
    "callback_number",
    "callback_booked",
    POSITION,
    NOTICE,
)
MENU_PROMPT = "menu"
# An example a Listen of the position announcement is spoken with.
EXAMPLE_POSITION, EXAMPLE_WAIT = 3, 150.0


def _default_text(name: str, texts: dict[str, str]) -> str:
    """What the prompt says when it has nothing of its own: an object's prompt the global
    one's text (if the admin typed one), else the built-in text; "" for music."""
    base = base_name(name)
    if name != base and texts.get(base):
        return texts[base]
    return DEFAULT_TEXTS.get(base, "")


def prompt_state(name: str, texts: dict[str, str], uploads: frozenset[str]) -> MenuPrompt:
    """The prompt's kind (upload, text or default) and the text it is spoken from."""
    if name in uploads:
        return {"kind": "upload", "text": texts.get(name) or _default_text(name, texts)}
    if texts.get(name):
        return {"kind": "text", "text": texts[name]}
    return {"kind": "default", "text": _default_text(name, texts)}


def prompt_of(db: Session, sounds: Sounds, name: str) -> MenuPrompt:
    return prompt_state(name, sounds.texts(db), sounds.uploads(db))


def _prompt_json(name: str, label: str, texts: dict[str, str], uploads: frozenset[str]) -> Prompt:
    state = prompt_state(name, texts, uploads)
    return {
        "name": name,
        "label": label,
        "kind": state["kind"],
        "text": state["text"],
        "default_text": _default_text(name, texts),
    }


@router.get("/cti/prompts")
def list_prompts(_: Admin, runtime: RuntimeDep) -> list[Prompt]:
    """Every global sound and prompt, then each service's and each menu's own."""
    with runtime.db() as db:
        texts = Sounds.texts(db)
        uploads = runtime.sounds.uploads(db)
        result = [_prompt_json(name, LABELS.get(name, name), texts, uploads) for name in _BASES]
        for service in services.list_(db):
            for base in SERVICE_PROMPTS:
                label = f"{LABELS[base]}: {service.name}"
                result.append(_prompt_json(per(base, service.id), label, texts, uploads))
        for menu in menus.list_(db):
            label = f"{LABELS[MENU_PROMPT]}: {menu.name}"
            result.append(_prompt_json(per(MENU_PROMPT, menu.id), label, texts, uploads))
    return result


@router.put("/cti/prompts/{name}")
async def put_prompt_text(
    name: SoundName, body: PromptTextBody, _: Admin, runtime: RuntimeDep
) -> Prompt:
    """The prompt is spoken from this text from now on (an upload of it is removed)."""
    if base_name(name) in MUSIC:
        raise ApiError(
            422, "music_upload_only", f"{LABELS[base_name(name)]} is music: upload a WAV file."
        )
    text = " ".join(body.text.split())
    if not text:
        raise ApiError(422, "empty_text", "Type what the caller should hear.")
    if base_name(name) == POSITION and (problem := template_problem(text)) is not None:
        raise ApiError(422, "bad_template", problem)
    _owner_exists(runtime, name)
    with runtime.db() as db:
        runtime.sounds.save_text(db, name, text)
        texts, uploads = Sounds.texts(db), runtime.sounds.uploads(db)
    runtime.reload_config()
    return _prompt_json(name, _label(runtime, name), texts, uploads)


def _owner_exists(runtime: Runtime, name: str) -> None:
    """An object's own prompt needs the object: 404 for a service or menu that is not there
    (a prompt of nothing would be kept and never heard)."""
    base = base_name(name)
    if name == base:
        return
    key = int(name.split(".", 1)[1])
    if base == MENU_PROMPT:
        if not any(m.id == key for m in runtime.config.menus):
            raise ApiError(404, "not_found", f"There is no menu {key} for the prompt {name}.")
    elif base not in SERVICE_PROMPTS:
        raise ApiError(
            404, "not_found", f"{LABELS.get(base, base)} is one prompt for all services."
        )
    elif key not in runtime.config.service_ids():
        raise ApiError(404, "not_found", f"There is no service {key} for the prompt {name}.")


def _label(runtime: Runtime, name: str) -> str:
    base = base_name(name)
    label = LABELS.get(base, base)
    if name == base:
        return label
    key = int(name.split(".", 1)[1])
    if base == MENU_PROMPT:
        owner = next((m.name for m in runtime.config.menus if m.id == key), "")
    else:
        owner = runtime.config.service_name(key)
    return f"{label}: {owner}" if owner else f"{label}: {key}"


def _source(runtime: Runtime, name: str) -> FsPath | str | None:
    """What the switch plays for the name (the same order as switch/playback.py): a WAV file,
    a text to speak, or None."""
    media = runtime.config
    for key in dict.fromkeys((name, base_name(name))):
        if key in media.uploads:
            path = media.sounds.get(key)
            if path is not None and path.is_file():
                return path
        text = media.prompt_texts.get(key)
        if text:
            return text
    base = base_name(name)
    return DEFAULT_TEXTS.get(base) or media.sounds.get(base)


def _example(name: str, found: FsPath | str | None) -> FsPath | str | None:
    """The position announcement is a template: Listen says it with example figures."""
    if base_name(name) != POSITION or not isinstance(found, str):
        return found
    return position_text(EXAMPLE_POSITION, EXAMPLE_WAIT, found)


@router.get(
    "/cti/sounds/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "The sound's WAV file"}},
)
async def get_sound(name: SoundName, _: Admin, runtime: RuntimeDep) -> FileResponse:
    """The WAV a caller hears: the upload, the text spoken, or the default file."""
    found = _example(name, _source(runtime, name))
    if isinstance(found, str):
        try:
            found = await runtime.speech.render(found)
        except SpeechUnavailable as exc:
            raise ApiError(
                503,
                "speech_unavailable",
                f"Text prompts cannot be spoken on this server: espeak-ng is missing; "
                f"{INSTALL_HINT}.",
            ) from exc
        except (OSError, RuntimeError, ValueError) as exc:
            raise ApiError(503, "speech_failed", f"The text could not be spoken: {exc}.") from exc
    if found is None or not found.is_file():
        raise ApiError(404, "not_found", f"No sound {name}.")
    return FileResponse(found, media_type="audio/wav", headers={"Cache-Control": "no-cache"})


@router.put("/cti/sounds/{name}", status_code=204)
async def put_sound(name: SoundName, file: UploadFile, _: Admin, runtime: RuntimeDep) -> Response:
    if base_name(name) == POSITION:
        raise ApiError(
            422,
            "text_only",
            "The position announcement is spoken with each caller's figures: type its text.",
        )
    _owner_exists(runtime, name)
    data = await file.read(MAX_WAV + 1)
    if len(data) > MAX_WAV:
        raise ApiError(413, "too_large", "The WAV file is larger than 16 MB.")
    if not _valid_wav(data):
        raise ApiError(415, "not_a_wav", "The file is not a WAV sound we can play.")
    with runtime.db() as db:
        runtime.sounds.save_upload(db, name, data)
    runtime.reload_config()
    return Response(status_code=204)


@router.delete("/cti/sounds/{name}", status_code=204)
async def reset_sound(name: SoundName, _: Admin, runtime: RuntimeDep) -> Response:
    """Back to the default: the upload or text is removed (an object's prompt then falls back
    to the global one)."""
    with runtime.db() as db:
        runtime.sounds.restore_default(db, name)
    runtime.reload_config()
    return Response(status_code=204)


def _valid_wav(data: bytes) -> bool:
    try:
        from ringdesk.media.sounds import validate_wav
    except ImportError:
        return data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    try:
        validate_wav(data)
    except Exception:  # the validator raises on anything it cannot decode
        return False
    return True

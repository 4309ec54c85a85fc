"""Sounds: the WAV files played on hold, in the queue, on overflow and on force-disconnect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, UploadFile
from fastapi.responses import FileResponse

from ringdesk.store.sounds import SOUND_NAMES
from ringdesk.web.auth import Admin, RuntimeDep
from ringdesk.web.errors import ApiError
from ringdesk.web.routers.admin.common import PREFIX

router = APIRouter(prefix=PREFIX, tags=["admin"])
SoundName = Annotated[str, Path(pattern="^(" + "|".join(SOUND_NAMES) + ")$")]
MAX_WAV = 16 * 1024 * 1024


@router.get(
    "/cti/sounds/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "The sound's WAV file"}},
)
def get_sound(name: SoundName, _: Admin, runtime: RuntimeDep) -> FileResponse:
    with runtime.db() as db:
        path = runtime.sounds.paths(db).get(name)
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", f"No sound {name}.")
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "no-cache"})


@router.put("/cti/sounds/{name}", status_code=204)
async def put_sound(name: SoundName, file: UploadFile, _: Admin, runtime: RuntimeDep) -> Response:
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

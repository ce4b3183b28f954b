"""Experiment layers: users upload tar archives by digest; agents download them once."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from vantagepoint.core import layers
from vantagepoint.core.api.deps import CurrentNode, CurrentUser, SchedulerUser, SettingsDep
from vantagepoint.wire import LayerOut

router = APIRouter(tags=["layers"])


@router.put("/layers/{digest}", summary="Upload an experiment layer")
async def upload_layer(digest: str, request: Request, settings: SettingsDep,
                       user: SchedulerUser) -> LayerOut:
    """The tar archive as the body; kept only if its SHA-256 is ``digest``. Idempotent."""
    hexdigest = layers.parse_digest(digest)
    path = layers.layer_path(settings, hexdigest)
    if path.is_file():
        return layers.layer_out(path, hexdigest)
    return await layers.store(request.stream(), settings, hexdigest)


@router.get("/layers/{digest}", summary="Whether a layer is stored")
def get_layer(digest: str, settings: SettingsDep, user: CurrentUser) -> LayerOut:
    """Its digest and size; 404 when it was never uploaded."""
    hexdigest = layers.parse_digest(digest)
    return layers.layer_out(layers.existing(settings, hexdigest), hexdigest)


@router.get("/agent/layers/{digest}", tags=["agent"], summary="Download a layer")
def download_layer(digest: str, settings: SettingsDep, node: CurrentNode) -> FileResponse:
    """The layer's bytes, for the node's layer cache."""
    hexdigest = layers.parse_digest(digest)
    return FileResponse(layers.existing(settings, hexdigest),
                        media_type="application/x-tar")

"""The HTTP API: ``python -m classifier serve`` runs ``create_app()`` under uvicorn.

Routes: ``GET /healthz`` (always open), ``GET /v1/model``, ``POST /v1/predict``, and the OpenAPI
docs at ``/docs``. Each result of ``/v1/predict`` is exactly a ``predict --json`` line
(``rows.result_row``), with the uploaded file's name as ``path``.

Design choices, and why:

- The model loads once per worker process, in the lifespan, and is shared by every request (a
  ``Classifier`` is thread-safe). A missing or corrupt model stops start-up instead of failing
  requests one by one.
- Predicting is CPU-bound, so it runs in worker threads (``anyio.to_thread``) behind a
  ``CapacityLimiter``: the event loop stays free and ``/healthz`` answers while images are analysed,
  and no more images are decoded at once than the limiter allows, which bounds memory.
- Uploads are parsed in memory by ``uploads.read_uploads`` (Starlette's form parser would spool
  files over 1 MB to a temporary file on disk). Images are never written or logged.
- ``AIVR_API_TOKEN``, when set, guards every route but ``/healthz`` (docs included): a load
  balancer can probe health without the secret. The comparison is constant-time.
"""

from __future__ import annotations

import hmac
import os
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .limits import MAX_FACES, MAX_FILES_PER_REQUEST, MAX_PIXELS, MAX_REQUEST_BYTES, MAX_UPLOAD_BYTES
from .rows import predict_one, result_row
from .uploads import FIELD, UploadRejected, read_uploads

TOKEN_ENV = "AIVR_API_TOKEN"
OPEN_PATHS = frozenset({"/healthz"})
PREDICT_THREADS = 2  # images analysed at once per worker: the network itself already uses both cores


class FaceOut(BaseModel):
    box: list[int] | None
    crop: list[int]
    p_ai: float
    verdict: str
    detector_score: float | None


class EvidenceOut(BaseModel):
    kind: str  # c2pa | iptc | metadata | watermark | exif
    claim: str | None  # ai | ai-edited | capture | null
    detail: str
    trusted: bool | None  # a C2PA signature checked (true/false); null where nothing is signed


class ProvenanceOut(BaseModel):
    """What the file itself declares (``classifier.provenance``); ``claim`` is the strongest declaration."""

    claim: str | None
    evidence: list[EvidenceOut]


class ResultOut(BaseModel):
    """One uploaded file: the same object as a ``python -m classifier predict --json`` line. ``verdict`` weighs
    the pixels and the file's own declaration; ``pixel_verdict`` and ``p_ai`` are the pixels' alone."""

    path: str
    verdict: str | None
    p_ai: float | None
    faces: list[FaceOut]
    warnings: list[str]
    width: int | None
    height: int | None
    pixel_verdict: str | None
    provenance: ProvenanceOut
    error: str | None


class PredictOut(BaseModel):
    results: list[ResultOut]


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FIELD],
    "properties": {FIELD: {"type": "array", "items": {"type": "string", "format": "binary"},
                           "description": f"one or more images, at most {MAX_FILES_PER_REQUEST}"}}}}}}}


class BearerToken:
    """ASGI middleware: 401 unless ``Authorization: Bearer <token>``, except on ``OPEN_PATHS``.

    Pure ASGI rather than a FastAPI dependency so that it also covers ``/docs``, ``/openapi.json``
    and unknown paths.
    """

    def __init__(self, app, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse({"detail": "Missing or wrong bearer token."}, status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def card_summary(clf) -> dict:
    """What ``/v1/model`` tells a client: the model, its measured quality and its decision rule."""
    card = clf.card
    validation = card.get("validation", {})
    per_source = validation.get("per_source_accuracy") or {}
    summary = {k: v for k, v in validation.items() if isinstance(v, (int, float))}
    if per_source:
        summary["worst_source_accuracy"] = min(per_source.values())
    metrics = {"test": card.get("test"), "validation": summary}
    if card.get("held_out") is not None:
        metrics["held_out"] = card["held_out"]
    return {"name": card.get("name"), "version": card.get("version"), "architecture": card.get("architecture"),
            "input_size": clf.input_size, "threshold": clf.threshold, "uncertain_band": list(clf.band),
            "conditions": {name: {"threshold": cut, "uncertain_band": list(band)}
                           for name, (cut, band) in clf.condition_rules().items()},
            "metrics": metrics,
            "limits": {"max_upload_bytes": MAX_UPLOAD_BYTES, "max_files_per_request": MAX_FILES_PER_REQUEST,
                       "max_request_bytes": MAX_REQUEST_BYTES, "max_pixels": MAX_PIXELS, "max_faces": MAX_FACES}}


def _predict_all(clf, uploads) -> list[dict]:
    """Rows for a request's files, in order; runs in a worker thread."""
    return [result_row(up.filename, *predict_one(clf, up.data)) for up in uploads]


def create_app(model_dir: str | Path | None = None) -> FastAPI:
    """The API app; the model (``model_dir``, default ``models/`` or ``$AIVR_MODEL_DIR``) loads at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from .predictor import load_classifier

        clf = app.state.clf = load_classifier(model_dir)
        size = clf.input_size
        clf.probabilities(np.zeros((1, size, size, 3), np.float32))  # so the first request pays no set-up
        app.state.limiter = anyio.CapacityLimiter(PREDICT_THREADS)
        yield
        app.state.clf = None

    app = FastAPI(title="AI vs Reality", version="1",
                  description="Tell real portrait photos from AI-generated ones. Images are analysed in memory "
                              "and never stored.", lifespan=lifespan)
    token = os.environ.get(TOKEN_ENV)
    if token:
        app.add_middleware(BearerToken, token=token)

    @app.get("/healthz", summary="Liveness: the model is loaded")
    async def healthz(request: Request) -> dict:
        card = request.app.state.clf.card
        return {"status": "ok", "model": card.get("name"), "version": card.get("version")}

    @app.get("/v1/model", summary="The model card's summary: version, metrics, threshold, uncertain band")
    async def model(request: Request) -> dict:
        return card_summary(request.app.state.clf)

    @app.post("/v1/predict", summary="Classify one or many images", openapi_extra=UPLOAD_BODY,
              responses={200: {"model": PredictOut}, 400: {"description": "no file, or a malformed body"},
                         413: {"description": "too many files, a file or the request too large"},
                         415: {"description": "not multipart/form-data"}})
    async def predict(request: Request) -> JSONResponse:
        """One result per file in the multipart field ``files``, in order; a bad image gets ``error``."""
        try:
            uploads = await read_uploads(request.headers, request.stream())
        except UploadRejected as err:
            raise HTTPException(err.status, err.message) from None
        state = request.app.state
        rows = await anyio.to_thread.run_sync(_predict_all, state.clf, uploads, limiter=state.limiter)
        return JSONResponse({"results": rows})

    return app

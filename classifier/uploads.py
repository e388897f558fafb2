"""Read a multipart upload into memory, under limits, without ever touching the disk.

Why not ``request.form()``: Starlette keeps each uploaded file in a ``SpooledTemporaryFile`` that
rolls over to a real temporary file above 1 MB, and photos are larger than that. Images must never
be written anywhere (the app's promise), so this module drives python-multipart's streaming parser
itself and appends each part of the ``files`` field to a ``bytearray``. Limits are enforced while
the body streams in: a file over ``MAX_UPLOAD_BYTES`` stops being kept at once (its remaining bytes
are read and dropped, so the client gets a clean 413 rather than a reset connection), and a body
over ``MAX_REQUEST_BYTES`` is refused at its ``Content-Length``, or as soon as it grows past it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from .limits import MAX_FILES_PER_REQUEST, MAX_REQUEST_BYTES, MAX_REQUEST_MB, MAX_UPLOAD_BYTES, MAX_UPLOAD_MB

FIELD = "files"
MAX_OTHER_PARTS = 16  # parts of other fields are read and dropped, but not without end


class UploadRejected(Exception):
    """The request as a whole is refused: ``status`` is the HTTP status, ``message`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Upload:
    filename: str
    data: bytearray = field(default_factory=bytearray, repr=False)


class _Collector:
    """python-multipart callbacks: keep the ``files`` parts, drop the rest, note the first problem."""

    def __init__(self, max_files: int, max_file_bytes: int) -> None:
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.uploads: list[Upload] = []
        self.problem: UploadRejected | None = None
        self.other_parts = 0
        self._current: Upload | None = None
        self._name = b""
        self._value = b""
        self._disposition = b""

    def _fail(self, status: int, message: str) -> None:
        self.problem = self.problem or UploadRejected(status, message)
        self._current = None
        for up in self.uploads:  # nothing will be analysed: let the memory go now
            up.data = bytearray()

    def on_part_begin(self) -> None:
        self._current, self._disposition = None, b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        if self._name.lower() == b"content-disposition":
            self._disposition = self._value
        self._name, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if options.get(b"name", b"").decode("utf-8", "replace") != FIELD:
            self.other_parts += 1
            if self.other_parts > MAX_OTHER_PARTS:
                self._fail(413, f"Too many form fields: send images in the '{FIELD}' field only.")
            return
        if self.problem:
            return
        if len(self.uploads) >= self.max_files:
            self._fail(413, f"Too many files: at most {self.max_files} per request.")
            return
        self._current = Upload(options.get(b"filename", b"").decode("utf-8", "replace"))
        self.uploads.append(self._current)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is None:
            return
        if len(self._current.data) + end - start > self.max_file_bytes:
            self._fail(413, f"A file is larger than the {MAX_UPLOAD_MB} MB limit per file.")
            return
        self._current.data += memoryview(data)[start:end]

    def on_part_end(self) -> None:
        self._current = None


async def read_uploads(headers: Mapping[str, str], body: AsyncIterator[bytes], *,
                       max_files: int = MAX_FILES_PER_REQUEST, max_file_bytes: int = MAX_UPLOAD_BYTES,
                       max_total_bytes: int = MAX_REQUEST_BYTES) -> list[Upload]:
    """The files of a ``multipart/form-data`` body's ``files`` field, in order, in memory.

    Raises ``UploadRejected``: 415 for another content type, 400 for a malformed body or one
    without files, 413 for too many files, a file too large or a body too large.
    """
    content_type, params = parse_options_header(headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise UploadRejected(415, f"Send the images as multipart/form-data in the '{FIELD}' field.")
    boundary = params.get(b"boundary")
    if not boundary:
        raise UploadRejected(400, "The multipart body has no boundary.")
    try:
        declared = int(headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    too_big = UploadRejected(413, f"The request is larger than the {MAX_REQUEST_MB} MB limit.")
    if declared > max_total_bytes:
        raise too_big
    collector = _Collector(max_files, max_file_bytes)
    callbacks = {name: getattr(collector, name) for name in dir(collector) if name.startswith("on_")}
    try:
        parser = MultipartParser(boundary, callbacks)
        total = 0
        async for chunk in body:
            total += len(chunk)
            if total > max_total_bytes:
                raise too_big
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise UploadRejected(400, "The multipart body is malformed.") from None
    if collector.problem:
        raise collector.problem
    if not collector.uploads:
        raise UploadRejected(400, f"No file: send one or more images in the multipart field '{FIELD}'.")
    return collector.uploads

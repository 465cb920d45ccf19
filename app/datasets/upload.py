"""Streaming multipart receiver: the ``file`` part goes straight to disk (hashed and size-checked as
it arrives), small form fields are kept in memory. Nothing is ever held whole in memory, and an
upload over the limit is refused as soon as the limit is crossed, not after it was stored."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import python_multipart
from fastapi import Request
from python_multipart.multipart import parse_options_header

from app.config import Settings
from app.datasets.exceptions import InvalidUpload, PayloadTooLarge, UnsupportedMediaType

FILE_FIELD = "file"
MAX_FIELD_BYTES = 1024 * 1024  # schema documents and form values
MULTIPART_OVERHEAD = 2 * MAX_FIELD_BYTES + 64 * 1024


@dataclass
class StagedUpload:
    """The uploaded file on disk plus the other form fields."""

    path: Path | None = None
    filename: str | None = None
    size_bytes: int = 0
    sha256: str = ""
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    def __init__(self, folder: Path, limit: int) -> None:
        self.folder, self.limit = folder, limit
        self.staged = StagedUpload()
        self._hash = hashlib.sha256()
        self._out: IO[bytes] | None = None
        self._name: str | None = None
        self._is_file = False
        self._buf = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._hname = b""
        self._hvalue = b""
        self._seen_file = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": lambda d, s, e: self._hfield(d[s:e]),
            "on_header_value": lambda d, s, e: self._hval(d[s:e]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def _hfield(self, b: bytes) -> None:
        self._hname += b

    def _hval(self, b: bytes) -> None:
        self._hvalue += b

    def on_part_begin(self) -> None:
        self._headers, self._buf, self._name, self._is_file = {}, bytearray(), None, False

    def on_header_end(self) -> None:
        self._headers[self._hname.lower()] = self._hvalue
        self._hname, self._hvalue = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise InvalidUpload('every multipart part needs a Content-Disposition "name"')
        self._name = options[b"name"].decode("utf-8", "replace")
        if self._name == FILE_FIELD:
            if self._seen_file:
                raise InvalidUpload("send exactly one 'file' part")
            self._seen_file = self._is_file = True
            if b"filename" in options:
                self.staged.filename = Path(options[b"filename"].decode("utf-8", "replace")).name or None
            # The engine tells CSV from Parquet partly by suffix: keep the client's (if plain).
            suffix = Path(self.staged.filename or "").suffix.lower()
            suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ""
            self.staged.path = self.folder / f"{uuid.uuid4().hex}{suffix}"
            self._out = self.staged.path.open("xb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            self.staged.size_bytes += len(chunk)
            if self.staged.size_bytes > self.limit:
                raise PayloadTooLarge(f"the upload exceeds the limit of {self.limit} bytes")
            self._hash.update(chunk)
            assert self._out is not None
            self._out.write(chunk)
        else:
            if len(self._buf) + len(chunk) > MAX_FIELD_BYTES:
                raise InvalidUpload(f"form field {self._name!r} exceeds {MAX_FIELD_BYTES} bytes")
            self._buf.extend(chunk)

    def on_part_end(self) -> None:
        if self._is_file:
            self.close()
        elif self._name is not None:
            try:
                self.staged.fields[self._name] = self._buf.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidUpload(f"form field {self._name!r} is not UTF-8 text") from None

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def finish(self) -> StagedUpload:
        if not self._seen_file:
            raise InvalidUpload("the multipart body has no 'file' part")
        self.staged.sha256 = self._hash.hexdigest()
        return self.staged


async def receive_upload(request: Request) -> AsyncIterator[StagedUpload]:
    """FastAPI dependency: stream the multipart body to a staging file; remove it afterwards."""
    settings: Settings = request.app.state.settings
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType("send the dataset as multipart/form-data with a 'file' part")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"the upload exceeds the limit of {settings.max_upload_bytes} bytes")
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(settings.uploads_dir, settings.max_upload_bytes)
    try:
        parser = python_multipart.MultipartParser(params[b"boundary"], receiver.callbacks())
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except python_multipart.exceptions.FormParserError as exc:
            raise InvalidUpload(f"malformed multipart body: {exc}") from None
        finally:
            receiver.close()
        yield receiver.finish()
    finally:
        if receiver.staged.path is not None:
            receiver.staged.path.unlink(missing_ok=True)

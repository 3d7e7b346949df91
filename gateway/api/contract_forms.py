"""The request headers and multipart bodies gateway.api.contract adds to the OpenAPI document.

Litestar documents what a handler's signature declares; the media download reads `Range`,
`If-Range` and `If-None-Match`, the event stream `Last-Event-ID`, and the two uploads read a
multipart form off the raw request, so none of them would appear. `HEADERS` (per operation id)
and `FORMS` (the multipart body per operation id) describe them as the handlers read them
(gateway.api.media_files, gateway.api.events, gateway.api.media, gateway.api.sending);
tests/api/test_openapi.py checks every header a handler reads is documented here and that the
forms are what the handlers accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.api.media import KINDS, MAX_UPLOAD


def _header(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": {"type": "string"}}


HEADERS: Mapping[str, list[dict[str, Any]]] = {
    "getMediaFile": [
        _header(
            "Range",
            "One byte range (`bytes=0-1023`, `bytes=-500`): 206 with those bytes and Content-Range; "
            "416 when it lies past the end; several ranges are answered with the whole file.",
        ),
        _header(
            "If-Range",
            "An ETag or Last-Modified of an earlier answer: the Range applies only when the file "
            "is still that one, else the whole file comes back (200).",
        ),
        _header("If-None-Match", "ETags of copies the client holds: 304 with no body when one is current."),
    ],
    "stream": [
        _header(
            "Last-Event-ID",
            "The last event id seen, as a reconnecting EventSource sends it: the stream "
            "resumes after it (before `?cursor=` and `?after=`); 422 validation_error when not an event id.",
        ),
    ],
}

_FILE = {"type": "string", "format": "binary", "maxLength": MAX_UPLOAD}
FORMS: Mapping[str, dict[str, Any]] = {
    "uploadMedia": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": list(KINDS), "description": "what the file is for"},
                        "file": {**_FILE, "description": "the file (platform limits apply)"},
                    },
                    "required": ["type", "file"],
                },
            }
        },
    },
    "sendWithUpload": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "message": {
                            "$ref": "#/components/schemas/SendMessage",
                            "description": "the JSON body of POST …/messages, without the ids the files stand for",
                        },
                        "media": {**_FILE, "description": "the file of an image, voice, video or file reply"},
                        "thumb": {**_FILE, "description": "the thumbnail of a link, video, music or miniprogram reply"},
                    },
                    "required": ["message"],
                },
                "encoding": {"message": {"contentType": "application/json"}},
            }
        },
    },
}

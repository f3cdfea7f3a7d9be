"""Which files a pushed record references (docs/sync.md, "Files"): read from its payload and
recorded in the batch's own transaction, so the relay accepts a file only after the dossier
that lists it (metadata first). The transfer itself is :mod:`sync.server.files`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from sync.server.models import DistrictFile, DistrictFileRef

F = DistrictFile.__table__
R = DistrictFileRef.__table__
MAX_FILES_PER_RECORD = 200          # a dossier's papers, with room for many pages
MAX_NAME = 200
SHA256 = re.compile(r"[0-9a-f]{64}")
MIMES = frozenset({"application/pdf", "image/jpeg", "image/png"})


@dataclass(frozen=True)
class FileRef:
    """One file a record's payload lists."""

    sha256: str
    size: int
    mime: str
    position: int
    name: str


def references(payload: Any) -> list[FileRef]:
    """The files a record's payload lists (``files`` beside the dossier, inside it, or in an
    event's data: a paper attached later), each checked; an entry that is not a file
    reference is skipped (the record itself was applied)."""
    if not isinstance(payload, dict):
        return []
    refs: dict[str, FileRef] = {}
    for found in _lists(payload):
        for n, entry in enumerate(found[:MAX_FILES_PER_RECORD]):
            ref = _reference(entry, n, payload)
            if ref is not None:
                refs.setdefault(ref.sha256, ref)
    return list(refs.values())[:MAX_FILES_PER_RECORD]


def _lists(payload: dict[str, Any]) -> list[list[Any]]:
    places = [payload, payload.get("dossier"), (payload.get("event") or {}).get("data")
              if isinstance(payload.get("event"), dict) else None]
    return [place["files"] for place in places
            if isinstance(place, dict) and isinstance(place.get("files"), list)]


def _reference(entry: Any, n: int, payload: dict[str, Any]) -> FileRef | None:
    if not isinstance(entry, dict):
        return None
    sha, size, mime = entry.get("sha256"), entry.get("size"), entry.get("mime")
    if not (isinstance(sha, str) and SHA256.fullmatch(sha) and type(size) is int and size > 0
            and size < 2**62 and mime in MIMES):
        return None
    position = next((entry[k] for k in ("item", "position", "item_position") if k in entry), n)
    position = position if type(position) is int and 0 <= position < 10_000 else n
    return FileRef(sha, size, str(mime), position, _name(entry, position, payload))


def _name(entry: dict[str, Any], position: int, payload: dict[str, Any]) -> str:
    """The paper's name for the upstream's file list: the entry's own, else its checklist
    item's, else none (the mapping names it by its hash)."""
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        checklist = payload.get("checklist")
        item = checklist[position] if isinstance(checklist, list) \
            and position < len(checklist) else None
        name = item.get("name") if isinstance(item, dict) else ""
    return str(name or "").strip()[:MAX_NAME]


def note_references(conn: Connection, commune_code: str, device_id: str,
                    applied: list[tuple[str, Any]], now: datetime) -> None:
    """Record the files the applied records ``(dossier code, payload)`` list, in the batch's
    transaction: the first reference creates the file's row, every one ties it to a dossier."""
    refs = [(code, ref) for code, payload in applied for ref in references(payload)]
    if not refs:
        return
    hashes = sorted({ref.sha256 for _code, ref in refs})
    known = set(conn.execute(select(F.c.sha256).where(F.c.sha256.in_(hashes))).scalars())
    tied = {(c, s) for c, s in conn.execute(
        select(R.c.dossier_code, R.c.sha256).where(R.c.sha256.in_(hashes)))}
    files, links = [], []
    for code, ref in refs:
        if ref.sha256 not in known:
            known.add(ref.sha256)
            files.append({"sha256": ref.sha256, "size": ref.size, "mime": ref.mime,
                          "received_bytes": 0, "commune_code": commune_code,
                          "device_id": device_id, "dossier_code": code,
                          "referenced_at": now})
        if (code, ref.sha256) not in tied:
            tied.add((code, ref.sha256))
            links.append({"dossier_code": code, "sha256": ref.sha256,
                          "position": ref.position, "name": ref.name})
    if files:
        conn.execute(insert(F), files)
    if links:
        conn.execute(insert(R), links)

"""The registry of promoted strategies: `<data-root>/registry.json` (README "Promotion").

A versioned JSON document, always written whole to a temporary file and renamed, so that another
process (the live runner) watching it never reads half of it:

    {"format": "okxbot-registry", "version": 1, "entries": [ENTRY, ...]}

ENTRY: id ("STUDY/TRIAL"), strategy (name), import_path ("module:Class"), params, symbols, venue,
capital_weight, risk_limits, modes (allowed: "paper", "live"), source_hash (sha256 of the
strategy's module source and the engine version), engine_version, data_fingerprint, study, trial,
report (the executed validation notebook), gate (every check with its value), promoted_at (ISO UTC),
status ("active" | "retired"), retired_at.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import time
from pathlib import Path
from typing import Any

from engine import __version__
from engine.model.errors import UserError
from engine.strategies.catalog import strategy_class

FORMAT = "okxbot-registry"
VERSION = 1


def registry_path(data_root: str | Path) -> Path:
    return Path(data_root) / "registry.json"


def source_hash(strategy: str) -> str:
    """sha256 of the strategy's module source and the engine version: what was validated."""
    cls = strategy_class(strategy)
    module = inspect.getmodule(cls)
    text = inspect.getsource(module) if module is not None else inspect.getsource(cls)
    return hashlib.sha256(f"{text}\n--engine {__version__}".encode()).hexdigest()


def import_path(strategy: str) -> str:
    cls = strategy_class(strategy)
    return f"{cls.__module__}:{cls.__qualname__}"


def read_registry(data_root: str | Path) -> dict[str, Any]:
    path = registry_path(data_root)
    if not path.is_file():
        return {"format": FORMAT, "version": VERSION, "entries": []}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise UserError(f"{path} is not an okxbot registry (format {found!r}, expected {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise UserError(f"{path} is registry version {doc.get('version')!r}; this okxbot reads version {VERSION}")
    return doc


def write_registry(data_root: str | Path, doc: dict[str, Any]) -> None:
    path = registry_path(data_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def find(doc: dict[str, Any], entry_id: str) -> dict[str, Any]:
    for entry in doc["entries"]:
        if entry["id"] == entry_id:
            return entry
    ids = ", ".join(e["id"] for e in doc["entries"]) or "none"
    raise UserError(f"no registry entry {entry_id!r} (entries: {ids})")


def entry_text(data_root: str | Path, entry_id: str) -> str:
    """The stored entry, as `okxbot registry show ID` prints it."""
    return json.dumps(find(read_registry(data_root), entry_id), indent=2, sort_keys=True)


def add_entry(data_root: str | Path, entry: dict[str, Any]) -> bool:
    """Add `entry` (its id once): True when written, False when the same entry is already there."""
    doc = read_registry(data_root)
    same = [e for e in doc["entries"] if e["id"] == entry["id"]]
    if same:
        old = same[0]
        keys = ("source_hash", "params", "symbols", "data_fingerprint")
        if old.get("status") == "active" and all(old.get(k) == entry.get(k) for k in keys):
            return False  # promoting the same trial twice changes nothing
        doc["entries"] = [e for e in doc["entries"] if e["id"] != entry["id"]]
    doc["entries"].append(entry)
    write_registry(data_root, doc)
    return True


def retire(data_root: str | Path, entry_id: str) -> dict[str, Any]:
    doc = read_registry(data_root)
    entry = find(doc, entry_id)
    if entry.get("status") != "retired":
        entry["status"] = "retired"
        entry["retired_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_registry(data_root, doc)
    return entry

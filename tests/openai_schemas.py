"""Validate a JSON body against a schema of OpenAI's published spec (tests/data/openai-schemas.json,
extracted by scripts/extract_openai_schemas.py)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parent / "data" / "openai-schemas.json"


@functools.cache
def document() -> dict[str, Any]:
    return dict(json.loads(SCHEMAS.read_text(encoding="utf-8")))


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """A validator for components/schemas/<name>, with the extract as the root for its $refs."""
    doc = document()
    if name not in doc["components"]["schemas"]:
        raise KeyError(f"{name} is not in {SCHEMAS.name}; add it to ROOTS in the extract script")
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return Draft202012Validator(schema)


def errors(body: Any, name: str) -> list[str]:
    """Every way `body` breaks schema `name` ([] when it is valid)."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator(name).iter_errors(body)
    ]

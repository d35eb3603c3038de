"""JSON Schemas (draft 2020-12) of every command's `--json` document, shipped in the package and
published as identical copies in docs/schemas/ (a test fails if they differ).

Versioning: each document carries `"schema": 1`; see docs/json.md for what may change within a
version and what raises it.
"""

from __future__ import annotations

from importlib import resources

from chatenv.problems import problem

#: the commands whose --json document has a schema, in the order `chatenv --help` lists them
COMMANDS = ("doctor", "install", "configure-key", "smoke-test", "setup", "init")


def file_name(command: str) -> str:
    return f"{command}.schema.json"


def schema_text(command: str) -> str:
    """The schema of `command`'s JSON document, as shipped."""
    if command not in COMMANDS:
        raise problem("schema.unknown-command").error(command=command, known=", ".join(COMMANDS))
    return resources.files(__package__).joinpath(file_name(command)).read_text(encoding="utf-8")

"""`chatenv doctor`: is this machine ready for LLM development?"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatenv.problems import problem

if TYPE_CHECKING:
    from pathlib import Path

    from chatenv.results import Report


def run_doctor(
    *,
    env_file: Path | None,
    offline: bool = False,
    deep: bool = False,
    strict: bool = False,
    hints: bool,
    model: str | None = None,
) -> Report:
    """doctor's report (what `chatenv doctor` and setup's first stage print). `env_file`:
    --env-file, or None for the .env the user's code would load from here (`locate_env_file`).
    `hints`: say on stderr what takes a while (--deep). `model`: --model, whose hub access the
    hf section checks."""
    from pathlib import Path

    from chatenv.doctor.context import DoctorOptions
    from chatenv.doctor.runner import build_report
    from chatenv.doctor.sections import SECTIONS
    from chatenv.keys.config import locate_env_file

    located = locate_env_file(env_file, Path.cwd())
    if located.path.is_dir():
        raise problem("doctor.env-file-is-directory").error(path=located.path)
    if model is not None:
        model = _checked_model(model)
    if deep and hints:
        from chatenv import output

        output.hint("--deep: importing torch in a subprocess (this takes a few seconds)")
    options = DoctorOptions(
        env_file=located.path,
        offline=offline,
        deep=deep,
        strict=strict,
        env_choice=located,
        model=model,
    )
    return build_report(SECTIONS, options)


#: a hub id as huggingface_hub's `validate_repo_id` takes it (`name` or `owner/name`, letters,
#: digits, `-`, `_`, `.`, at most 96 characters a part), without importing huggingface_hub
_REPO_ID = re.compile(r"^(?:[\w\-.]{1,96}/)?[\w\-.]{1,96}$", re.ASCII)


def _checked_model(model: str) -> str:
    """--model as a folder or a hub id; anything else is a usage error, as smoke-test's."""
    from pathlib import Path

    name = model.strip()
    if not name:
        raise problem("smoke.model-empty").error()
    if Path(name).expanduser().is_dir():
        return name
    if not _REPO_ID.match(name) or "--" in name or ".." in name or name.startswith(("-", ".")):
        raise problem("doctor.model-bad-id").error(name=name)
    return name

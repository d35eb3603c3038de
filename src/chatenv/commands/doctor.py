"""`chatenv doctor`: is this machine ready for LLM development?"""

from __future__ import annotations

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
) -> Report:
    """doctor's report (what `chatenv doctor` and setup's first stage print). `env_file`:
    --env-file, or None for the .env the user's code would load from here (`locate_env_file`).
    `hints`: say on stderr what takes a while (--deep)."""
    from pathlib import Path

    from chatenv.doctor.context import DoctorOptions
    from chatenv.doctor.runner import build_report
    from chatenv.doctor.sections import SECTIONS
    from chatenv.keys.config import locate_env_file

    located = locate_env_file(env_file, Path.cwd())
    if located.path.is_dir():
        raise problem("doctor.env-file-is-directory").error(path=located.path)
    if deep and hints:
        from chatenv import output

        output.hint("--deep: importing torch in a subprocess (this takes a few seconds)")
    options = DoctorOptions(
        env_file=located.path, offline=offline, deep=deep, strict=strict, env_choice=located
    )
    return build_report(SECTIONS, options)

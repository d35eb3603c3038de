"""The installed distributions one doctor run reads once and every section shares (read by
`chatenv.installed`, the reader `install` uses too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.installed import scan

if TYPE_CHECKING:
    from chatenv.doctor.runner import DoctorOptions
    from chatenv.installed import Installed


def for_run(options: DoctorOptions) -> Installed:
    """The scan every section of one doctor run shares."""
    return options.shared.get("installed", lambda: scan(options.seams.sys_path))

"""The sections of `chatenv doctor`, in the order the report shows them."""

from __future__ import annotations

from chatenv.doctor import platform
from chatenv.doctor.runner import Section

SECTIONS: tuple[Section, ...] = (Section("platform", platform.collect, budget_s=3.0),)

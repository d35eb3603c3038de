"""The commands a fix tells the user to paste, for the interpreter whose packages were checked.

doctor checks the interpreter it runs in, so its fixes say `chatenv install local` and `python -m
pip install ...`. `chatenv install --python X` verifies X with the same checks; their fixes must
then name X, or pasting one would change another environment.
"""

from __future__ import annotations

import shlex

from chatenv.records import dataclass


@dataclass(frozen=True)
class FixTarget:
    #: the interpreter the checked packages belong to; None: the one chatenv runs in
    python: str | None = None

    @property
    def option(self) -> str:
        """What a chatenv command needs to act on this interpreter: ` --python X`, or nothing
        (the table of problems writes fixes as `chatenv install local{python_option}`)."""
        return f" --python {shlex.quote(self.python)}" if self.python else ""

    @property
    def command(self) -> str:
        """This interpreter as the first word of a command line: `python` for chatenv's own."""
        return shlex.quote(self.python) if self.python else "python"

    def pip_install(self, args: str) -> str:
        """`python -m pip install <args>`, with this interpreter's pip."""
        return f"{self.command} -m pip install {args}"


#: doctor's own target: the interpreter chatenv runs in
HERE = FixTarget()

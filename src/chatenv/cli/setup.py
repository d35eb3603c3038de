"""`chatenv setup`: doctor, install, configure-key and smoke-test in one run.

Each stage is the command's own code (`run_doctor`, `run_install`, `run_configure`,
`run_smoke`), called in this process; `chatenv.stages` decides what runs and what stops the
run. This module only sequences, times and prints.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chatenv.cli._common import (
    FORMAT_HELP,
    JSON_HELP,
    VERBOSE_HELP,
    Format,
    cli_errors,
    complete_profiles,
    finish,
    unexpected,
)
from chatenv.cli.install import SystemOption, TorchOption
from chatenv.errors import ChatenvError, Interrupted
from chatenv.problems import problem
from chatenv.smoke import DEFAULT_MODEL

if TYPE_CHECKING:
    from chatenv.install.plan import Plan
    from chatenv.results import Report
    from chatenv.stages import Selection, StageRun, Triage

StageBody = Callable[[], "tuple[Report, frozenset[str]]"]


def setup(
    profiles: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PROFILE",
            help="What to set up: api, local or all (default). Installed, then smoke-tested.",
            show_default=False,
            autocompletion=complete_profiles,
        ),
    ] = None,
    torch: TorchOption = "auto",
    system: SystemOption = False,
    env_file: Annotated[
        Path,
        typer.Option("--env-file", help="The .env file doctor checks and the key is stored in."),
    ] = Path(".env"),
    offline: Annotated[
        bool, typer.Option("--offline", help="doctor skips its network checks.")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local/--no-local", help="Smoke-test local generation.")
    ] = True,
    api: Annotated[
        bool,
        typer.Option(
            "--api/--no-api", help="Configure the key if missing and smoke-test the OpenAI API."
        ),
    ] = True,
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="Model for the local smoke test (hub id or folder)."),
    ] = DEFAULT_MODEL,
    gitignore: Annotated[
        bool | None,
        typer.Option(
            "--gitignore/--no-gitignore",
            help="Add the .env file to .gitignore if git would commit it (default: ask on a "
            "terminal; yes with --yes; otherwise leave it and warn).",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Ask nothing: install without confirming, add .env to .gitignore, take the key "
            "only from OPENAI_API_KEY or a pipe.",
        ),
    ] = False,
    fmt: Annotated[Format | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=VERBOSE_HELP)] = False,
) -> None:
    """Set this machine up in one go: doctor, install, configure-key (when the key is missing
    and can be asked for or is piped in), smoke-test. Stops at the first stage that fails, with
    its fix, and prints one summary of every stage.

    Exit 0 when every stage passed or was not needed, 1 when one failed, 2 for bad options
    (before anything ran), 130 on Ctrl-C."""
    with cli_errors("setup", fmt=fmt, as_json=as_json, verbose=verbose) as chosen:
        run = SetupRun(
            selection=_selection(
                profiles or [], local=local, api=api, torch=torch, model=model, env_file=env_file
            ),
            torch=torch,
            system=system,
            env_file=env_file,
            offline=offline,
            model=model,
            gitignore=gitignore,
            yes=yes,
            fmt=chosen,
            verbose=verbose,
        )
        report = run.run()
    finish(report, fmt=chosen, verbose=verbose)


def _selection(
    profiles: list[str], *, local: bool, api: bool, torch: str, model: str, env_file: Path
) -> Selection:
    """Bad options are refused before any stage runs (exit 2), by the commands' own checks."""
    from chatenv.install.command import check_profiles
    from chatenv.install.variant import parse_request
    from chatenv.smoke import hub
    from chatenv.stages import select

    selection = select(check_profiles(tuple(profiles)), local=local, api=api)
    parse_request(torch)
    if not selection.local and not selection.api:
        raise problem("setup.nothing-to-smoke-test").error(
            profiles=", ".join(selection.profiles),
            option="--no-local" if not local else "--no-api",
        )
    if selection.local:
        hub.model_ref(model)
    if env_file.is_dir():
        raise problem("doctor.env-file-is-directory").error(path=env_file)
    return selection


@dataclass
class SetupRun:
    selection: Selection
    torch: str
    system: bool
    env_file: Path
    offline: bool
    model: str
    gitignore: bool | None
    yes: bool
    fmt: str
    verbose: bool
    stages: list[StageRun] = field(default_factory=list)

    def run(self) -> Report:
        from chatenv import output
        from chatenv.stages import STAGES, StageRun, build_report

        started = time.monotonic()
        interrupted = False
        steps = (self._doctor, self._install, self._configure_key, self._smoke_test)
        for name, step in zip(STAGES, steps, strict=True):
            failed = next((s.name for s in self.stages if s.outcome == "failed"), None)
            if failed is not None:
                why = "interrupted" if interrupted else f"{failed} failed"
                self.stages.append(StageRun(name, "skipped", reason=f"not run: {why}"))
                continue
            try:
                self.stages.append(step())
            except KeyboardInterrupt as exc:
                interrupted = True
                said = str(exc)  # the stage's own line, printed already (see _timed)
                if not said:
                    output.error(problem("cli.interrupted").text())
                self.stages.append(StageRun(name, "failed", reason=said or "interrupted"))
        return build_report(
            self.stages,
            selection=self.selection,
            options=self._options(),
            elapsed_s=time.monotonic() - started,
            interrupted=interrupted,
        )

    def _options(self) -> dict[str, object]:
        return {
            "torch": self.torch,
            "system": self.system,
            "env_file": str(self.env_file),
            "offline": self.offline,
            "local": self.selection.local,
            "api": self.selection.api,
            "model": self.model,
            "yes": self.yes,
        }

    @property
    def _text(self) -> bool:
        return self.fmt == "text"

    @property
    def _interactive(self) -> bool:
        """Questions only on a terminal, and never with --yes."""
        return sys.stdin.isatty() and not self.yes

    # -- the stages ---------------------------------------------------------------------------

    def _doctor(self) -> StageRun:
        from chatenv.cli.doctor import run_doctor
        from chatenv.stages import StageRun, triage

        report, elapsed = self._timed(
            "doctor",
            lambda: (run_doctor(env_file=self.env_file, offline=self.offline, hints=False), None),
        )
        if report.error is not None:
            return StageRun("doctor", "failed", elapsed_s=elapsed, report=report)
        found = triage(report, api=self.selection.api)
        self._explain(found)
        outcome = "failed" if found.blocking else "ran"
        return StageRun(
            "doctor", outcome, elapsed_s=elapsed, report=report, not_blocking=found.not_blocking
        )

    def _explain(self, found: Triage) -> None:
        from chatenv import output

        if found.repaired and not found.blocking:
            ids = ", ".join(r.id for r in found.repaired)
            output.hint(f"setup: going on: chatenv install repairs {ids}")
        if found.unused and not found.blocking:
            ids = ", ".join(r.id for r in found.unused)
            output.hint(f"setup: going on: {ids} concern the API, which is not being set up")

    def _install(self) -> StageRun:
        from chatenv.cli.install import run_install
        from chatenv.install.command import InstallOptions
        from chatenv.stages import StageRun

        options = InstallOptions(
            profiles=self.selection.profiles, torch=self.torch, system=self.system
        )
        report, elapsed = self._timed(
            "install",
            lambda: run_install(
                options, fmt=self.fmt, verbose=self.verbose, confirm=self._confirm_plan
            ),
        )
        outcome = "failed" if report.exit_code else "ran"
        return StageRun("install", outcome, elapsed_s=elapsed, report=report)

    def _confirm_plan(self, plan: Plan) -> bool:
        from chatenv import output

        if self._interactive and self._text:
            return output.confirm("Install this plan?", default=True)
        if not self.yes:
            why = (
                "stdin is not a terminal"
                if not sys.stdin.isatty()
                else f"--format {self.fmt} shows no plan to confirm"
            )
            output.hint(f"setup: installing without asking ({why}; --yes says so)")
        return True

    def _configure_key(self) -> StageRun:
        from chatenv.cli.configure_key import run_configure
        from chatenv.keys import key_input
        from chatenv.keys.config import resolve, source_label
        from chatenv.stages import StageRun, key_stage

        config = resolve(os.environ, self.env_file)
        source = None
        if config.key is not None:
            source = source_label(config.key_source, self.env_file)
        kind = key_input.stdin_kind(sys.stdin)
        piped = None
        if kind == "pipe" and self.selection.api and source is None:
            piped = key_input.piped_now(sys.stdin)
            if piped is None or not piped.strip():
                kind, piped = "none", None
        reason = key_stage(self.selection, key_source=source, stdin=kind, yes=self.yes)
        if reason is not None:
            self._announce_skip("configure-key", reason)
            return StageRun("configure-key", "skipped", reason=reason)
        gitignore = self.gitignore if self.gitignore is not None else (True if self.yes else None)

        def configure() -> tuple[Report, None]:
            if piped is None:
                from chatenv import output

                output.hint("no OPENAI_API_KEY yet: paste it at the prompt (--no-api skips this)")
            report = run_configure(
                env_file=self.env_file,
                piped=piped,
                gitignore=gitignore,
                interactive=self._interactive,
            )
            return report, None

        report, elapsed = self._timed("configure-key", configure)
        outcome = "failed" if report.exit_code else "ran"
        return StageRun("configure-key", outcome, elapsed_s=elapsed, report=report)

    def _smoke_test(self) -> StageRun:
        from chatenv.cli.smoke_test import run_smoke
        from chatenv.stages import StageRun

        progress = self._text and sys.stderr.isatty()
        report, elapsed = self._timed(
            "smoke-test",
            lambda: (
                run_smoke(
                    local=self.selection.local,
                    api=self.selection.api,
                    model=self.model,
                    env_file=self.env_file,
                    show_progress=progress,
                ),
                None,
            ),
        )
        outcome = "failed" if report.exit_code else "ran"
        return StageRun("smoke-test", outcome, elapsed_s=elapsed, report=report)

    # -- running one stage --------------------------------------------------------------------

    def _timed(
        self, name: str, body: Callable[[], tuple[Report, frozenset[str] | None]]
    ) -> tuple[Report, float]:
        """Run a stage's command code under its heading: its report, or, when it stopped with
        an error, the error as that command's report (its line on stderr, as the command alone
        prints it). Ctrl-C stops setup."""
        from chatenv import output
        from chatenv.cli.install import Declined

        index = len(self.stages) + 1
        if self._text:
            output.setup_stage_heading(index, 4, name)
        else:
            output.hint(f"[{index}/4] chatenv {name}")
        started = time.monotonic()
        shown: frozenset[str] = frozenset()
        try:
            report, already = body()
            shown = already or frozenset()
        except Declined:
            report = output.error_report(name, *problem("setup.install-declined").pair(), 1)
        except Interrupted as exc:  # what the command says it left: "as pip left it", ...
            output.error(exc.message, exc.fix)
            raise KeyboardInterrupt(exc.message) from None
        except ChatenvError as exc:
            output.error(exc.message, exc.fix)
            report = output.error_report(name, exc.message, exc.fix, exc.exit_code)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            message, fix = unexpected(exc)
            output.error(message, fix)
            report = output.error_report(name, message, fix, 1)
        elapsed = time.monotonic() - started
        if self._text:
            output.setup_stage_text(report, verbose=self.verbose, shown=shown)
        return report, elapsed

    def _announce_skip(self, name: str, reason: str) -> None:
        from chatenv import output

        index = len(self.stages) + 1
        if self._text:
            output.setup_stage_heading(index, 4, name)
            output.setup_stage_skipped(reason)
        else:
            output.hint(f"[{index}/4] chatenv {name}: skipped: {reason}")

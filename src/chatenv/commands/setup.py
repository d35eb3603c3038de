"""`chatenv setup`: doctor, install, configure-key and smoke-test in one run.

Each stage is the command's own body (`run_doctor`, `run_install`, `run_configure`,
`run_smoke`), called in this process; `chatenv.stages` decides what runs and what stops the
run. This module only sequences, times and prints.

In a project with a project file (chatenv.project) setup provisions the project: its profiles
are the default, install installs what it declares (its torch range and policy choosing the
build) and then fetches its hub models when online, configure-key also asks for the variables
it lists, and the smoke test uses its models and API endpoint.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv.errors import EXIT_INTERRUPTED
from chatenv.problems import problem, stopped_by
from chatenv.records import dataclass, field, replace

if TYPE_CHECKING:
    from collections.abc import Callable

    from chatenv.install.plan import Plan
    from chatenv.project.file import Project
    from chatenv.project.provision import Fetch
    from chatenv.project.settings import EnvNeed
    from chatenv.results import CheckResult, Report
    from chatenv.stages import Selection, StageRun, Triage

    #: asks for a value on a terminal (hidden when `secret`); None or "" when none was given
    AskValue = Callable[[str, bool], str | None]


def find_project(cwd: Path | None = None) -> Project | None:
    """The project file of the current folder, read; one that cannot be used stops setup
    before any stage runs, with its line."""
    from pathlib import Path

    from chatenv.project.file import lookup

    home = os.environ.get("HOME")
    found = lookup(cwd or Path.cwd(), Path(home) if home else None)
    if found.error is not None:
        raise found.error
    return found.project


def smoke_model(model: str | None, project: Project | None) -> str:
    """--model, else the project's smoke model, else chatenv's small default."""
    from chatenv.smoke import DEFAULT_MODEL

    if model is not None:
        return model
    return (project.settings.smoke_model if project else None) or DEFAULT_MODEL


def selection(
    profiles: list[str],
    *,
    local: bool,
    api: bool,
    torch: str,
    model: str,
    env_file: Path | None,
    project: Project | None = None,
) -> Selection:
    """Bad options are refused before any stage runs (exit 2), by the commands' own checks.
    Without PROFILE, a project's profiles."""
    from chatenv.install.command import check_profiles
    from chatenv.install.variant import parse_request
    from chatenv.smoke import hub
    from chatenv.stages import select

    if not profiles and project is not None:
        profiles = list(project.profiles)
    selection = select(check_profiles(tuple(profiles)), local=local, api=api)
    parse_request(torch)
    if not selection.local and not selection.api:
        raise problem("setup.nothing-to-smoke-test").error(
            profiles=", ".join(selection.profiles),
            option="--no-local" if not local else "--no-api",
        )
    if selection.local:
        hub.model_ref(model)
    if env_file is not None and env_file.is_dir():
        raise problem("doctor.env-file-is-directory").error(path=env_file)
    return selection


@dataclass
class SetupRun:
    selection: Selection
    torch: str
    system: bool
    #: --env-file, or None: the .env the user's code would load from here (every stage uses
    #: the same file: `locate_env_file` picks it once, when the run is made)
    env_file: Path | None
    offline: bool
    model: str
    gitignore: bool | None
    yes: bool
    fmt: str
    verbose: bool
    #: the yes/no question on a terminal (the CLI's prompt); None: never ask
    ask: Callable[[str], bool] | None = None
    #: --torch-index (None: $CHATENV_TORCH_INDEX, else download.pytorch.org)
    torch_index: str | None = None
    #: the project file setup provisions (None: chatenv's profiles only)
    project: Project | None = None
    #: asks for a variable's value on a terminal (the CLI's hidden prompt); None: never ask
    ask_value: AskValue | None = None
    #: puts a hub model in the cache (None: huggingface_hub's snapshot_download)
    fetch: Fetch | None = None
    stages: list[StageRun] = field(default_factory=list)
    #: the one .env file every stage uses (set from env_file when the run is made)
    env_path: Path = field(init=False)

    def __post_init__(self) -> None:
        from chatenv.keys.config import locate_env_file

        self.env_path = locate_env_file(self.env_file, Path.cwd()).path

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
                stage = step()
            except KeyboardInterrupt:  # between stages, outside a command's own body
                output.error(problem("cli.interrupted").text())
                stage = StageRun(name, "failed", reason="interrupted")
            if stage.reason == "interrupted" or (
                stage.report is not None and stage.report.exit_code == EXIT_INTERRUPTED
            ):
                interrupted = True
                # the stage's own line ("as pip left it", "nothing was written") is the reason
                said = stage.report.error.message if stage.report and stage.report.error else ""
                stage = replace(stage, outcome="failed", reason=said or "interrupted")
            self.stages.append(stage)
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
            "torch_index": self.torch_index,
            "system": self.system,
            "env_file": str(self.env_path),
            "offline": self.offline,
            "local": self.selection.local,
            "api": self.selection.api,
            "model": self.model,
            "yes": self.yes,
            "project": str(self.project.path) if self.project else None,
        }

    @property
    def _text(self) -> bool:
        return self.fmt == "text"

    @property
    def _interactive(self) -> bool:
        """Questions only on a terminal, and never with --yes."""
        return sys.stdin.isatty() and not self.yes

    # -- the stages ---------------------------------------------------------------------------

    def _doctor_options(self) -> dict[str, Any]:
        """doctor checks hub access to the model the smoke test will load, when it is not the
        default (which is public)."""
        from chatenv.smoke import DEFAULT_MODEL

        model = self.model if self.model != DEFAULT_MODEL else None
        return {"env_file": self.env_path, "offline": self.offline, "hints": False, "model": model}

    def _doctor(self) -> StageRun:
        from chatenv.commands.doctor import run_doctor
        from chatenv.stages import StageRun, triage

        report, elapsed = self._timed(
            "doctor",
            lambda: (run_doctor(**self._doctor_options()), None),
        )
        if report.error is not None:
            return StageRun("doctor", "failed", elapsed_s=elapsed, report=report)
        found = triage(report, api=self.selection.api, local=self.selection.local)
        self._explain(found)
        outcome = "failed" if found.blocking else "ran"
        return StageRun(
            "doctor", outcome, elapsed_s=elapsed, report=report, not_blocking=found.not_blocking
        )

    def _explain(self, found: Triage) -> None:
        from chatenv import output

        if found.repaired and not found.blocking:
            from chatenv.stages import asked_by_configure_key

            asked = [r.id for r in found.repaired if asked_by_configure_key(r)]
            ids = ", ".join(r.id for r in found.repaired if r.id not in asked)
            if ids:
                output.hint(f"setup: going on: chatenv install repairs {ids}")
            if asked:
                output.hint(f"setup: going on: configure-key asks for {', '.join(asked)}")
        if found.unused and not found.blocking:
            ids = ", ".join(r.id for r in found.unused)
            output.hint(f"setup: going on: {ids} concern the API, which is not being set up")

    def _install(self) -> StageRun:
        from chatenv.commands.install import run_install
        from chatenv.install.command import InstallOptions
        from chatenv.stages import StageRun

        options = InstallOptions(
            profiles=self.selection.profiles,
            torch=self.torch,
            torch_index=self.torch_index,
            system=self.system,
            project=self.project,
        )

        def install() -> tuple[Report, frozenset[str]]:
            report, shown = run_install(
                options, fmt=self.fmt, verbose=self.verbose, confirm=self._confirm_plan
            )
            return self._with_models(report), shown

        report, elapsed = self._timed("install", install)
        outcome = "failed" if report.exit_code else "ran"
        return StageRun("install", outcome, elapsed_s=elapsed, report=report)

    def _with_models(self, report: Report) -> Report:
        """After a good install, the project's hub models, fetched when online."""
        from pathlib import Path

        from chatenv.project.provision import fetch_models, hub_fetch
        from chatenv.system.hf_cache import hub_cache, is_offline

        if self.project is None or report.exit_code or not self.project.settings.models:
            return report
        if self.offline or is_offline(os.environ):
            return report
        from chatenv import output

        output.hint("setup: fetching the project's models that are not cached yet")
        cache, _ = hub_cache(os.environ, Path(os.environ.get("HOME") or Path.home()))
        fetched = fetch_models(self.project, cache, self.fetch or hub_fetch)
        return replace(
            report, results=(*report.results, *(r.in_section("models") for r in fetched))
        )

    def _confirm_plan(self, plan: Plan) -> bool:
        from chatenv import output

        if self._interactive and self._text and self.ask is not None:
            return self.ask("Install this plan?")
        if not self.yes:
            why = (
                "stdin is not a terminal"
                if not sys.stdin.isatty()
                else f"--format {self.fmt} shows no plan to confirm"
            )
            output.hint(f"setup: installing without asking ({why}; --yes says so)")
        return True

    def _configure_key(self) -> StageRun:
        from chatenv.commands.configure_key import run_configure
        from chatenv.keys import key_input
        from chatenv.keys.config import resolve, source_label
        from chatenv.stages import StageRun, key_stage

        config = resolve(os.environ, self.env_path)
        source = None
        if config.key is not None:
            source = source_label(config.key_source, self.env_path)
        kind = key_input.stdin_kind(sys.stdin)
        piped = None
        if kind == "pipe" and self.selection.api and source is None:
            piped = key_input.piped_now(sys.stdin)
            if piped is None or not piped.strip():
                kind, piped = "none", None
        reason = key_stage(self.selection, key_source=source, stdin=kind, yes=self.yes)
        missing = self._missing_env()
        if reason is not None and not missing:
            self._announce_skip("configure-key", reason)
            return StageRun("configure-key", "skipped", reason=reason)
        gitignore = self.gitignore if self.gitignore is not None else (True if self.yes else None)

        def configure() -> tuple[Report, None]:
            from chatenv.results import CheckResult, Report

            results: list[CheckResult] = []
            data: dict[str, object] = {"mode": "project", "env_file": str(self.env_path)}
            if reason is None:
                if piped is None:
                    from chatenv import output

                    output.hint(
                        "no OPENAI_API_KEY yet: paste it at the prompt (--no-api skips this)"
                    )
                report = run_configure(
                    env_file=self.env_path,
                    piped=piped,
                    gitignore=gitignore,
                    interactive=self._interactive,
                    ask=self.ask,
                )
                if report.error is not None or not missing:
                    return report, None
                results += report.results
                data = dict(report.data)
            else:
                results.append(CheckResult.skip("key", f"OPENAI_API_KEY: {reason}"))
            asked = self._project_env(missing)
            results += asked
            saved = [n for r in asked if r.id == "project.env.saved" for n in r.data["names"]]
            data["project_env"] = {"missing": [n.name for n in missing], "saved": saved}
            return Report("configure-key", tuple(results), data=data), None

        report, elapsed = self._timed("configure-key", configure)
        outcome = "failed" if report.exit_code else "ran"
        return StageRun("configure-key", outcome, elapsed_s=elapsed, report=report)

    def _missing_env(self) -> list[EnvNeed]:
        """The project's variables set neither in the environment nor the .env file (the
        OpenAI key is configure-key's own when the API is set up)."""
        from chatenv.keys.config import EnvFileError, read_env_file

        if self.project is None:
            return []
        try:
            dotenv = read_env_file(self.env_path)
        except EnvFileError:
            dotenv = {}
        skip = {"OPENAI_API_KEY"} if self.selection.api else set()
        return [
            need
            for need in self.project.settings.env
            if need.name not in skip and not (os.environ.get(need.name) or dotenv.get(need.name))
        ]

    def _project_env(self, missing: list[EnvNeed]) -> list[CheckResult]:
        """Ask for each missing variable on a terminal and save what was given in the .env
        file; without a terminal (or with --yes), say what to set."""
        from chatenv.problems import problem
        from chatenv.project.secrets import save_values
        from chatenv.results import Status

        values: dict[str, str] = {}
        results: list[CheckResult] = []
        for need in missing:
            value = None
            if self._interactive and self.ask_value is not None:
                why = f" ({need.why})" if need.why else ""
                where = f"; get it at {need.url}" if need.url else ""
                optional = ", Enter skips it" if not need.required else ""
                value = self.ask_value(f"{need.name}{why}{where}{optional}", need.secret) or ""
                value = value.strip() or None
            if value is not None:
                values[need.name] = value
                continue
            results.append(
                problem("project.env-missing").check(
                    Status.FAIL if need.required else Status.WARN,
                    f"project.env.{need.name}",
                    data={"name": need.name, "required": need.required, "url": need.url},
                    name=need.name,
                    why=f": {need.why}" if need.why else "",
                    env_file=self.env_path,
                    url=f"; get it at {need.url}" if need.url else "",
                )
            )
        if values:
            results = save_values(self.env_path, values) + results
        return results

    def _smoke_test(self) -> StageRun:
        from chatenv.commands.smoke_test import run_smoke
        from chatenv.stages import StageRun

        progress = self._text and sys.stderr.isatty()
        api = self.project.settings.api if self.project else None
        environ = dict(os.environ)
        if api is not None and api.base_url:
            environ["OPENAI_BASE_URL"] = api.base_url  # the endpoint the project's file names
        report, elapsed = self._timed(
            "smoke-test",
            lambda: (
                run_smoke(
                    local=self.selection.local,
                    api=self.selection.api,
                    model=self.model,
                    api_model=api.model if api is not None else None,
                    env_file=self.env_path,
                    show_progress=progress,
                    environ=environ,
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
        except SystemExit:
            raise
        except (Exception, KeyboardInterrupt) as exc:
            # the same mapping as the command alone (cli_errors): its line on stderr, and its
            # report carries the exit code (130 for Ctrl-C, which stops setup)
            stopped = stopped_by(exc)
            output.error(stopped.message, stopped.fix)
            report = output.error_report(name, stopped.message, stopped.fix, stopped.exit_code)
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

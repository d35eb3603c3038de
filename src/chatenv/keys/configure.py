"""`chatenv configure-key` as a plain function: checks, verification, the write, git, and the
report. The CLI module only reads options and the key, and renders what this returns. With
`--hf` the secret is the Hugging Face token (HF_TOKEN), verified with the hub's whoami instead of
the API's model list; the file, git and the report are the same code.

Order matters: everything that can refuse (the file, git) is checked before the network call,
every question is asked before anything is written, and the key is written only once it has
been verified (or verification was skipped, could not reach the server in auto mode, or the
user said --save-anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatenv import records
from chatenv.errors import ChatenvError
from chatenv.keys import git, store
from chatenv.keys.config import (
    BASE_URL,
    DEFAULT_BASE_URL,
    ENV_FILE,
    ENVIRONMENT,
    KEY,
    LEGACY_NAMES,
    ORG,
    PROJECT,
    Setting,
    resolve,
)
from chatenv.keys.hf_token import HF_TOKEN
from chatenv.keys.key_input import check_format, check_hf_format
from chatenv.keys.mask import mask, mask_url
from chatenv.keys.verify import VerifyMode, verify
from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.results import CheckResult, Report, Status
from chatenv.system import proc
from chatenv.system.openai_client import DEFAULT_TIMEOUT_S

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chatenv.keys.config import (
        OpenAIConfig,
    )
    from chatenv.keys.hf_verify import HfVerification
    from chatenv.keys.mask import Secret
    from chatenv.keys.verify import Verification

COMMAND = "configure-key"
SECTION = "configure-key"

Notify = Callable[[str], None]
Ask = Callable[[str], bool]


@dataclass(frozen=True)
class ConfigureRequest:
    env_file: Path
    #: the key, already normalized and validated (key_input)
    key: Secret
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    verify: VerifyMode = VerifyMode.AUTO
    save_anyway: bool = False
    timeout: float = DEFAULT_TIMEOUT_S
    #: add the file to .gitignore when git would commit it; None: ask, or leave it and warn
    gitignore: bool | None = None
    #: write even though git tracks the file
    force: bool = False
    #: the key is a Hugging Face token, stored as HF_TOKEN (--hf)
    hf: bool = False

    @property
    def variable(self) -> str:
        return HF_TOKEN if self.hf else KEY


def _quiet(_: str) -> None:
    return None


def configure(
    request: ConfigureRequest,
    *,
    environ: Mapping[str, str],
    ask: Ask | None = None,
    notify: Notify = _quiet,
    progress: Notify = _quiet,
    run: proc.Runner = proc.run,
    extra: tuple[CheckResult, ...] = (),
) -> Report:
    """Store the key (and the settings given) in the .env file. Refusals raise ChatenvError."""
    target = store.inspect(request.env_file)
    store.read_text(target)  # refuse a file we would not write (bad UTF-8, unparsable lines)
    repo = git.status(target.real, run)
    if repo.tracked and not request.force:
        raise _tracked_error(target.real, repo)
    add_to_gitignore = _decide_gitignore(request, target, repo, ask)

    results, verification = _verified(request, environ, progress, extra)
    save = not verification.failed or request.save_anyway
    results.append(verification.result(saved_anyway=verification.failed and save))

    values = _values(request)
    shown = {name: _display(name, value) for name, value in values.items()}
    data: dict[str, Any] = {
        "variable": request.variable,
        "env_file": str(target.path),
        "written_to": str(target.real),
        "saved": False,
        "changed": False,
        "variables": shown,
        "verification": verification.to_json(),
        "git": _git_json(repo),
    }
    if not save:
        results.append(problem("key.not-saved").check(Status.SKIP, "env-file", path=target.path))
        return _report(results, data)

    outcome = store.update(request.env_file, values)
    data.update(saved=True, changed=outcome.changed)
    results.append(_written_result(outcome, shown))
    results.append(_mode_result(outcome, notify))
    if outcome.removed_temp_files:
        count = len(outcome.removed_temp_files)
        results.append(
            CheckResult.ok(
                "temp-files",
                f"removed {count} temporary file{'s' if count != 1 else ''} that interrupted "
                f"runs had left in {outcome.target.real.parent}",
                data={"removed": [str(p) for p in outcome.removed_temp_files]},
            )
        )
    if outcome.target.other_links:
        results.append(
            problem("key.hard-links").check(
                Status.WARN,
                "hard-links",
                path=outcome.target.real,
                count=outcome.target.other_links,
            )
        )
    if repo.tracked:
        results.append(_tracked_forced(outcome.target.real, repo))
    git_results = _gitignore_results(outcome.target.real, repo, add_to_gitignore, run)
    results.extend(git_results)
    data["git"]["added_to_gitignore"] = any(r.data.get("added") for r in git_results)
    results.extend(_overrides(values, environ))
    return _report(results, data)


def _verified(
    request: ConfigureRequest,
    environ: Mapping[str, str],
    progress: Notify,
    extra: tuple[CheckResult, ...],
) -> tuple[list[CheckResult], Verification | HfVerification]:
    """The key's format and what its server says of it: the API (`GET /models`) for an OpenAI
    key, the hub (`whoami-v2`) for a Hugging Face token."""
    raw = request.key.reveal()
    if request.hf:
        from chatenv.keys.hf_verify import verify_hf
        from chatenv.system.hub_client import endpoint

        if request.verify is not VerifyMode.OFF:
            progress(f"verifying the token with {mask_url(endpoint(environ))} ...")
        hf_verification = verify_hf(
            request.key, request.verify, environ=environ, timeout=request.timeout
        )
        return [*extra, check_hf_format(raw)], hf_verification
    config = _config_for(request, environ)
    base_url = config.base_url.value if config.base_url else None
    if request.verify is not VerifyMode.OFF:
        progress(f"verifying the key with {mask_url(config.effective_base_url)} ...")
    verification = verify(config, request.verify, timeout=request.timeout)
    return [*extra, check_format(raw, base_url)], verification


def show(env_file: Path, environ: Mapping[str, str]) -> Report:
    """Where each OpenAI setting comes from now, the key masked (`--show`)."""
    config = resolve(environ, env_file)
    path = Path(env_file).absolute()
    where = {ENVIRONMENT: "the environment", ENV_FILE: str(path)}
    results: list[CheckResult] = []
    if config.env_file_error:
        results.append(
            problem("key.show-file-unreadable").check(
                Status.WARN, "env-file", error=config.env_file_error, path=path
            )
        )
    if config.key is None:
        results.append(problem("key.show-no-key").check(Status.FAIL, "key", path=path))
    else:
        source = where.get(config.key_source or "", config.key_source or "?")
        results.append(CheckResult.ok("key", f"{KEY}={config.key.masked} from {source}"))
    if config.key_conflict:
        results.append(problem("key.show-conflict").check(Status.WARN, "key-conflict", path=path))
    for name, setting, default in (
        (BASE_URL, config.base_url, f"{DEFAULT_BASE_URL} (default)"),
        (ORG, config.organization, "not set (the key's default organization)"),
        (PROJECT, config.project, "not set (the key's own project)"),
    ):
        if setting is None:
            results.append(CheckResult.ok(name.lower(), f"{name}: {default}"))
        else:
            source = where.get(setting.source, setting.source)
            value = _display(name, setting.value)
            results.append(CheckResult.ok(name.lower(), f"{name}={value} from {source}"))
    for legacy, found in config.legacy.items():
        results.append(
            problem("key.show-legacy-name").check(
                Status.WARN,
                "legacy-name",
                legacy=legacy,
                where=where.get(found, found),
                new=LEGACY_NAMES[legacy],
            )
        )
    mode = _file_mode(path)
    if mode is not None and mode & 0o077:
        results.append(
            problem("key.show-permissions").check(Status.WARN, "permissions", path=path, mode=mode)
        )
    data = {
        "env_file": str(path),
        "key": {"masked": config.key.masked, "source": config.key_source} if config.key else None,
        "settings": {
            name: {"value": _display(name, s.value), "source": s.source} if s else None
            for name, s in (
                (BASE_URL, config.base_url),
                (ORG, config.organization),
                (PROJECT, config.project),
            )
        },
    }
    return Report(
        command=COMMAND,
        results=tuple(r.in_section("openai settings") for r in results),
        data={"mode": "show", **data},
    )


def show_hf(env_file: Path, environ: Mapping[str, str]) -> Report:
    """Where the Hugging Face token comes from now, masked (`--show --hf`)."""
    from chatenv.keys import hf_token
    from chatenv.system.hf_cache import token_path

    home = Path(environ.get("HOME") or Path.home())
    path = Path(env_file).absolute()
    config = hf_token.resolve(environ, path, token_path(environ, home))
    results: list[CheckResult] = []
    if config.env_file_error:
        results.append(
            problem("key.show-file-unreadable").check(
                Status.WARN, "env-file", error=config.env_file_error, path=path
            )
        )
    found = config.token
    if found is None:
        results.append(
            problem("key.show-no-hf-token").check(
                Status.FAIL, "key", path=path, token_file=config.token_file
            )
        )
    else:
        results.append(
            CheckResult.ok("key", f"{HF_TOKEN}={found.masked} from {config.where(found)}")
        )
    for other in config.shadowed:
        results.append(
            problem("hf.token-conflict").check(
                Status.WARN,
                "key-conflict",
                other=config.where(other),
                other_masked=other.masked,
                where=config.where(found) if found else "",
            )
        )
    endpoint = environ.get("HF_ENDPOINT", "").strip()
    shown = (
        f"HF_ENDPOINT={endpoint} from the environment"
        if endpoint
        else ("HF_ENDPOINT: https://huggingface.co (default)")
    )
    results.append(CheckResult.ok("hf_endpoint", shown))
    mode = _file_mode(path)
    if found is not None and found.source == ENV_FILE and mode is not None and mode & 0o077:
        results.append(
            problem("key.show-permissions").check(Status.WARN, "permissions", path=path, mode=mode)
        )
    data = {
        "mode": "show",
        "variable": HF_TOKEN,
        "env_file": str(path),
        "token_file": str(config.token_file),
        "key": {"masked": found.masked, "source": found.source, "name": found.name}
        if found
        else None,
        "settings": {
            "HF_ENDPOINT": {"value": endpoint, "source": ENVIRONMENT} if endpoint else None
        },
    }
    return Report(
        command=COMMAND,
        results=tuple(r.in_section("hugging face settings") for r in results),
        data=data,
    )


# -- pieces ----------------------------------------------------------------------------------


def _config_for(request: ConfigureRequest, environ: Mapping[str, str]) -> OpenAIConfig:
    """The settings the key will be used with: what the user gave, else what the environment
    and the file say now (the environment winning, as it does for the openai client)."""
    current = resolve(environ, request.env_file)

    def given(value: str | None, setting: Setting | None) -> Setting | None:
        return Setting(value, "input") if value is not None else setting

    return records.replace(
        current,
        key=request.key,
        key_source="input",
        key_conflict=False,
        base_url=given(request.base_url, current.base_url),
        organization=given(request.organization, current.organization),
        project=given(request.project, current.project),
    )


def _values(request: ConfigureRequest) -> dict[str, str]:
    """The variables to write: the key, and each setting the user gave."""
    values = {request.variable: request.key.reveal()}
    for name, value in (
        (BASE_URL, request.base_url),
        (ORG, request.organization),
        (PROJECT, request.project),
    ):
        if value is not None:
            values[name] = value
    return values


def _report(results: list[CheckResult], data: dict[str, Any]) -> Report:
    return Report(
        command=COMMAND,
        results=tuple(r.in_section(SECTION) for r in results),
        data={"mode": "write", **data},
    )


def _display(name: str, value: str) -> str:
    if name in (KEY, HF_TOKEN):
        return mask(value)
    if name == BASE_URL:
        return mask_url(value)
    return value


def _tracked_error(path: Path, repo: git.GitStatus) -> ChatenvError:
    root = repo.root or path.parent
    entry = git.ignore_entry(path, root)
    return problem("key.file-tracked").error(
        path=path, path_entry=entry.lstrip("/"), ignore=git.ignore_command(path, root), root=root
    )


def _tracked_forced(path: Path, repo: git.GitStatus) -> CheckResult:
    entry = git.ignore_entry(path, repo.root or path.parent)
    return problem("key.file-tracked-forced").check(
        Status.WARN, "git", path=path, path_entry=entry.lstrip("/")
    )


def _decide_gitignore(
    request: ConfigureRequest, target: store.EnvTarget, repo: git.GitStatus, ask: Ask | None
) -> bool | None:
    if not repo.exposed or repo.root is None:
        return None
    if request.gitignore is not None:
        return request.gitignore
    if ask is None:
        return None
    entry = git.ignore_entry(target.real, repo.root)
    return ask(
        f"{target.real} is in a git work tree and not ignored; add '{entry}' to "
        f"{repo.root / '.gitignore'}?"
    )


def _gitignore_results(
    path: Path, repo: git.GitStatus, add: bool | None, run: proc.Runner
) -> list[CheckResult]:
    if repo.error:
        return [problem("key.git-error").check(Status.WARN, "git", path=path, error=repo.error)]
    if not repo.in_work_tree or repo.root is None:
        return []
    if repo.ignored:
        return [CheckResult.ok("git", f"ignored by git ({repo.ignored_by})")]
    if repo.tracked:
        return []
    entry = git.ignore_entry(path, repo.root)
    gitignore = repo.root / ".gitignore"
    if not add:
        return [
            problem("key.file-not-ignored").check(
                Status.WARN, "git", path=path, ignore=git.ignore_command(path, repo.root)
            )
        ]
    try:
        store.rewrite(gitignore, lambda current: git.gitignore_with(current, entry))
    except (ChatenvError, OSError, UnicodeDecodeError) as exc:
        reason = exc.message if isinstance(exc, ChatenvError) else str(exc)
        return [
            problem("key.gitignore-failed").check(
                Status.WARN,
                "git",
                entry=entry,
                gitignore=gitignore,
                reason=reason,
                ignore=git.ignore_command(path, repo.root),
            )
        ]
    after = git.status(path, run)
    if not after.ignored:
        return [
            problem("key.still-not-ignored").check(
                Status.WARN,
                "git",
                data={"added": entry},
                entry=entry,
                gitignore=gitignore,
                path=path,
            )
        ]
    return [
        CheckResult.ok(
            "git", f"added '{entry}' to {gitignore}; git now ignores it", data={"added": entry}
        )
    ]


def _written_result(outcome: store.WriteOutcome, shown: Mapping[str, str]) -> CheckResult:
    unchanged = not outcome.changed and not outcome.created
    parts = []
    for name, value in shown.items():
        lines = outcome.replaced.get(name)
        where = ("line " + ", ".join(str(n) for n in lines)) if lines else "added"
        if lines and not unchanged:
            where = "replaced " + where
        parts.append(f"{name}={value} ({where})")
    target = outcome.target
    place = str(target.path)
    if target.symlink:
        place += f" (a link; written to {target.real})"
    if unchanged:
        return CheckResult.ok("env-file", f"{place} already had " + "; ".join(parts))
    verb = "created" if outcome.created else "saved"
    return CheckResult.ok("env-file", f"{verb} {place}: " + "; ".join(parts))


def _mode_result(outcome: store.WriteOutcome, notify: Notify) -> CheckResult:
    real = outcome.target.real
    if outcome.tightened_from is not None:
        notify(
            f"{real} was readable by others (mode {outcome.tightened_from:04o}); "
            f"changed it to {outcome.mode:04o} because it holds a secret"
        )
        return CheckResult.ok(
            "permissions", f"mode {outcome.mode:04o} (tightened from {outcome.tightened_from:04o})"
        )
    owner = outcome.target.owner_name
    who = f"only its owner, {owner}, and root can read it" if owner else "only you can read it"
    return CheckResult.ok("permissions", f"mode {outcome.mode:04o} ({who})")


def _overrides(values: Mapping[str, str], environ: Mapping[str, str]) -> list[CheckResult]:
    found = []
    for name, value in values.items():
        current = environ.get(name, "").strip()
        if current and current != value:
            shown = _display(name, current)
            client = "huggingface_hub" if name == HF_TOKEN else "the openai client"
            found.append(
                problem("key.environment-overrides").check(
                    Status.WARN, "environment", name=name, shown=shown, client=client
                )
            )
    return found


def _git_json(repo: git.GitStatus) -> dict[str, Any]:
    return {
        "available": repo.available,
        "in_work_tree": repo.in_work_tree,
        "root": str(repo.root) if repo.root else None,
        "tracked": repo.tracked,
        "ignored": repo.ignored,
        "error": repo.error,
        "added_to_gitignore": False,
    }


def _file_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return None

"""The hf section: the Hugging Face token the user's code will send (`keys.hf_token`), shown
masked, and where it comes from; then, unless --offline or HF_HUB_OFFLINE, whether the hub
(HF_ENDPOINT honoured) accepts it (`whoami-v2`) and whether the smoke test's model, or
`--model`, is gated and this token may read it (`chatenv.system.hub_client`: the standard
library, one attempt, TIMEOUT_S each, the two questions asked at once).

Without a token and without --model nothing is asked of the hub: the default model is public.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.keys.hf_token import DISABLE_IMPLICIT, LEGACY_TOKEN, for_download, replace_command
from chatenv.problems import problem
from chatenv.results import CheckResult, Status
from chatenv.smoke import DEFAULT_MODEL
from chatenv.system.hf_cache import is_offline, model_cached

if TYPE_CHECKING:
    from chatenv.doctor.context import Context
    from chatenv.keys.hf_token import HfTokenConfig
    from chatenv.system.hub_client import ModelAccess, WhoAmI

#: seconds for each request (the model check makes two for a gated model)
TIMEOUT_S = 5.0
#: what the section's budget must outlast (doctor/sections.py)
WORST_CASE_S = 2 * TIMEOUT_S


def token_data(config: HfTokenConfig) -> dict[str, object]:
    found = config.token
    return {
        "found": found is not None,
        "masked": found.masked if found else None,
        "source": found.source if found else None,
        "name": found.name if found else None,
        "env_file": str(config.env_file),
        "token_file": str(config.token_file),
        "shadowed": [
            {"source": f.source, "name": f.name, "masked": f.masked} for f in config.shadowed
        ],
        "implicit_disabled": config.implicit_disabled,
    }


def check_token(config: HfTokenConfig) -> list[CheckResult]:
    data = token_data(config)
    details = [f"token file: {config.token_file}"]
    if config.token_file_error:
        details.append(f"the token file cannot be read: {config.token_file_error}")
    found = config.token
    if found is None:
        return [problem("hf.no-token").check(Status.SKIP, "hf.token", details=details, data=data)]
    where = config.where(found)
    results = []
    if found.secret.reveal().startswith(("hf_", "api_org_")):
        results.append(
            CheckResult.ok(
                "hf.token", f"token {found.masked} from {where}", details=details, data=data
            )
        )
    else:
        results.append(
            problem("hf.token-shape").check(
                Status.WARN,
                "hf.token",
                details=details,
                data=data,
                masked=found.masked,
                where=where,
            )
        )
    for other in config.shadowed:
        results.append(
            problem("hf.token-conflict").check(
                Status.WARN,
                f"hf.token-conflict.{other.source}"
                + ("-legacy" if other.name == LEGACY_TOKEN else ""),
                data={"winner": found.source, "other": other.source},
                other=config.where(other),
                other_masked=other.masked,
                where=where,
            )
        )
    if config.implicit_disabled:
        results.append(
            problem("hf.implicit-token-disabled").check(
                Status.WARN, "hf.implicit-token", data={DISABLE_IMPLICIT: True}
            )
        )
    return results


def check_whoami(answer: WhoAmI, config: HfTokenConfig) -> CheckResult:
    from chatenv.system.hub_client import TokenState

    found = config.token
    assert found is not None
    data = answer.to_json()
    if answer.state is TokenState.ACCEPTED:
        role = f", {answer.role}" if answer.role else ""
        name = f" (token '{answer.token_name}'{role})" if answer.token_name else ""
        details = [f"organizations: {', '.join(answer.orgs)}"] if answer.orgs else []
        return CheckResult.ok(
            "hf.whoami",
            f"token {found.masked} accepted by {answer.endpoint}: {answer.user}{name}",
            details=details,
            data=data,
        )
    if answer.state is TokenState.REJECTED:
        return problem("hf.token-rejected").check(
            Status.FAIL,
            "hf.whoami",
            data=data,
            endpoint=answer.endpoint,
            masked=found.masked,
            where=config.where(found),
            reason=answer.reason,
            store=replace_command(found),
        )
    return problem("hf.token-unverified").check(
        Status.WARN,
        "hf.whoami",
        data=data,
        endpoint=answer.endpoint,
        masked=found.masked,
        reason=answer.reason,
    )


def check_model(
    access: ModelAccess,
    config: HfTokenConfig,
    *,
    cached: bool,
    account: str = "",
) -> CheckResult:
    """What the hub says of the model for the token a download sends; a model the cache holds
    still loads (smoke-test reads the cache first), so a refusal is then a warning."""
    from chatenv.system.hub_client import Access

    model, endpoint = access.repo_id, access.endpoint
    data = {**access.to_json(), "cached": cached}
    state = access.access
    if state is Access.PUBLIC:
        return CheckResult.ok(
            "hf.model", f"{model} is public on {endpoint}: no token needed", data=data
        )
    if state is Access.GRANTED:
        kind = f"gated ({access.gated})" if access.gated else "private"
        return CheckResult.ok(
            "hf.model", f"{model} is {kind} on {endpoint}; this token may read it", data=data
        )
    refused = Status.WARN if cached else Status.FAIL
    note = "; the copy in the cache still loads" if cached else ""
    page = access.page
    details = [f"the hub said: {access.reason}"] if access.reason else []
    if state is Access.NEEDS_TOKEN and config.token is not None and config.implicit_disabled:
        return problem("hf.model-token-not-sent").check(
            refused,
            "hf.model",
            details=details,
            data=data,
            model=model,
            endpoint=endpoint,
            cached=note,
        )
    if state is Access.NEEDS_TOKEN:
        return problem("hf.model-needs-token").check(
            refused,
            "hf.model",
            details=details,
            data=data,
            model=model,
            endpoint=endpoint,
            cached=note,
            page=page,
        )
    if state is Access.DENIED:
        who = f"the account {account}" if account else "the token's account"
        return problem("hf.model-denied").check(
            refused,
            "hf.model",
            details=details,
            data=data,
            model=model,
            endpoint=endpoint,
            who=who,
            cached=note,
            page=page,
        )
    if state is Access.PENDING:
        return problem("hf.model-pending").check(
            refused,
            "hf.model",
            details=details,
            data=data,
            model=model,
            endpoint=endpoint,
            cached=note,
        )
    if state is Access.NOT_FOUND:
        return problem("hf.model-not-found").check(
            refused,
            "hf.model",
            details=details,
            data=data,
            model=model,
            endpoint=endpoint,
            cached=note,
        )
    if state is Access.TOKEN_REJECTED:
        return problem("hf.model-token-refused").check(
            Status.SKIP, "hf.model", data=data, model=model
        )
    return problem("hf.model-unverified").check(
        Status.WARN, "hf.model", data=data, model=model, endpoint=endpoint, reason=access.reason
    )


def check_folder(model: str) -> CheckResult:
    return CheckResult.ok(
        "hf.model",
        f"--model {model} is a local folder: no hub access needed",
        data={"access": "folder", "repo_id": None, "folder": model},
    )


def _skipped(config: HfTokenConfig, model: str | None, reason: str) -> list[CheckResult]:
    results = []
    if config.token is not None:
        results.append(CheckResult.skip("hf.whoami", f"token not checked with the hub: {reason}"))
    if model is not None:
        results.append(CheckResult.skip("hf.model", f"{model} not checked with the hub: {reason}"))
    return results


def collect(ctx: Context) -> list[CheckResult]:
    config = ctx.hf_token
    results = check_token(config)
    requested = ctx.options.model
    if requested is not None and Path(requested).expanduser().is_dir():
        results.append(check_folder(requested))
        requested_id = None
    else:
        requested_id = requested
    # the default model is public: only a token, or a model asked for, is worth a request
    model = requested_id or (
        DEFAULT_MODEL if config.token is not None and requested is None else None
    )
    if ctx.options.offline:
        return results + _skipped(config, model, "--offline")
    if is_offline(ctx.environ):
        return results + _skipped(config, model, "HF_HUB_OFFLINE is set")
    # imported only to ask the hub: concurrent.futures brings logging (~18 ms), which an
    # --offline run (the network section skipped) would otherwise pay for here alone
    from concurrent.futures import ThreadPoolExecutor

    from chatenv.system import hub_client

    endpoint = hub_client.endpoint(ctx.environ)
    ctx.step(f"asking {endpoint}")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="hf-request") as pool:
        who = (
            pool.submit(
                hub_client.whoami,
                endpoint,
                config.token.secret,
                environ=ctx.environ,
                timeout=TIMEOUT_S,
            )
            if config.token is not None
            else None
        )
        access = (
            pool.submit(
                hub_client.model_access,
                endpoint,
                model,
                for_download(config),
                environ=ctx.environ,
                timeout=TIMEOUT_S,
            )
            if model is not None
            else None
        )
        answer = who.result() if who is not None else None
        if answer is not None:
            results.append(check_whoami(answer, config))
        if access is not None and model is not None:
            account = answer.user if answer is not None else ""
            cached = model_cached(model, ctx.environ, ctx.home)
            results.append(check_model(access.result(), config, cached=cached, account=account))
    return results

"""doctor's hf section: the token (from real files and environments in tmp_path), and the hub's
answers from the stand-in on 127.0.0.1 (HF_ENDPOINT; tests/smoke/fake_hub.py says where each
answer was recorded), through the section's `collect` and the real `chatenv doctor`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from chatenv.doctor import hf_access
from chatenv.doctor.context import Context, DoctorOptions
from chatenv.results import Status
from tests.conftest import clean_env, imported_by
from tests.openai_server import closed_port
from tests.smoke.fake_hub import fake_hub

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from chatenv.results import CheckResult
    from tests.conftest import RunCli
    from tests.smoke.fake_hub import FakeHub

TOKEN = "hf_" + "d0ct0r" * 5 + "AbCd"
OTHER = "hf_" + "0th3rB" * 5 + "EfGh"
REVOKED = "hf_" + "r3v0kd" * 5 + "IjKl"
GATED = "meta-llama/Llama-3.2-1B"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "gpt2"}')
    with fake_hub() as server:
        server.state.add("gpt2", model)
        server.state.add(GATED, model, gated=True)
        server.state.add_user(TOKEN, "alice", token_name="laptop", role="read", orgs=("acme",))
        server.state.add_user(OTHER, "bob")
        server.state.grant(GATED, "alice")
        yield server


def _collect(
    tmp_path: Path, hub: FakeHub | None = None, *, model: str | None = None, **env: str
) -> dict[str, CheckResult]:
    environ = {"HOME": str(tmp_path / "home"), "NO_PROXY": "127.0.0.1", **env}
    if hub is not None:
        environ["HF_ENDPOINT"] = hub.endpoint
    ctx = Context(DoctorOptions(environ=environ, cwd=tmp_path, model=model))
    return {r.id: r for r in hf_access.collect(ctx)}


def _token_file(tmp_path: Path, token: str) -> None:
    folder = tmp_path / "home/.cache/huggingface"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(token + "\n")


# -- the token, read from the machine ---------------------------------------------------------


def test_no_token_is_skipped_with_the_configure_key_fix(tmp_path: Path) -> None:
    results = _collect(tmp_path)
    token = results["hf.token"]
    assert token.status is Status.SKIP
    assert token.summary.startswith("no Hugging Face token: public models download")
    assert token.fix is not None and token.fix.startswith("chatenv configure-key --hf")
    assert set(results) == {"hf.token"}  # nothing asked of the hub: gpt2 needs no token


@pytest.mark.parametrize(
    ("place", "where"),
    [
        ("environment", "HF_TOKEN in the environment"),
        ("legacy", "HUGGING_FACE_HUB_TOKEN in the environment"),
        ("env-file", "HF_TOKEN in {env}"),
        ("token-file", "the token file {home}/.cache/huggingface/token (hf auth login)"),
        ("hf-home", "the token file {tmp}/hf/token (hf auth login)"),
        ("token-path", "the token file {tmp}/elsewhere/tok (hf auth login)"),
    ],
)
def test_the_token_comes_from_where_huggingface_hub_takes_it(
    tmp_path: Path, place: str, where: str
) -> None:
    env: dict[str, str] = {}
    if place == "environment":
        env["HF_TOKEN"] = TOKEN
    elif place == "legacy":
        env["HUGGING_FACE_HUB_TOKEN"] = TOKEN
    elif place == "env-file":
        (tmp_path / ".env").write_text(f"OPENAI_API_KEY=sk-x\nHF_TOKEN={TOKEN}\n")
    elif place == "token-file":
        _token_file(tmp_path, TOKEN)
    elif place == "hf-home":
        (tmp_path / "hf").mkdir()
        (tmp_path / "hf/token").write_text(TOKEN)
        env["HF_HOME"] = str(tmp_path / "hf")
    else:
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere/tok").write_text(TOKEN)
        env["HF_TOKEN_PATH"] = str(tmp_path / "elsewhere/tok")
    token = _collect(tmp_path, None, HF_HUB_OFFLINE="1", **env)["hf.token"]
    expected = where.format(env=tmp_path / ".env", home=tmp_path / "home", tmp=tmp_path)
    assert (token.status, token.summary) == (Status.OK, f"token hf_…AbCd from {expected}")
    assert TOKEN not in json.dumps(token.to_json())


def test_a_token_of_another_shape_warns(tmp_path: Path) -> None:
    token = _collect(tmp_path, HF_TOKEN="not-a-hub-token-1234", HF_HUB_OFFLINE="1")["hf.token"]
    assert token.status is Status.WARN
    assert "does not start with hf_" in token.summary


def test_a_token_hidden_by_another_is_named_with_the_winner(tmp_path: Path) -> None:
    """`hf auth login` wrote one token, an old HF_TOKEN is still exported: the old one wins."""
    _token_file(tmp_path, OTHER)
    results = _collect(tmp_path, HF_TOKEN=TOKEN, HF_HUB_OFFLINE="1")
    assert results["hf.token"].summary == "token hf_…AbCd from HF_TOKEN in the environment"
    conflict = results["hf.token-conflict.token-file"]
    assert conflict.status is Status.WARN
    assert conflict.summary == (
        f"the token file {tmp_path}/home/.cache/huggingface/token (hf auth login) holds another "
        "token (hf_…EfGh); the one from HF_TOKEN in the environment is used"
    )


def test_an_empty_hf_token_in_the_environment_hides_the_env_files(tmp_path: Path) -> None:
    """load_dotenv() leaves a variable that is set alone, even empty; huggingface_hub then
    skips the empty value: the token file is used, not the .env file's token."""
    (tmp_path / ".env").write_text(f"HF_TOKEN={OTHER}\n")
    _token_file(tmp_path, TOKEN)
    results = _collect(tmp_path, HF_TOKEN="", HF_HUB_OFFLINE="1")
    assert results["hf.token"].data["source"] == "token-file"
    assert "hf.token-conflict.env-file" in results


# -- the hub's answers -------------------------------------------------------------------------


def test_an_accepted_token_names_its_account(tmp_path: Path, hub: FakeHub) -> None:
    results = _collect(tmp_path, hub, HF_TOKEN=TOKEN)
    whoami = results["hf.whoami"]
    assert whoami.status is Status.OK
    assert whoami.summary == (
        f"token hf_…AbCd accepted by {hub.endpoint}: alice (token 'laptop', read)"
    )
    assert whoami.details == ("organizations: acme",)
    assert whoami.data["user"] == "alice"
    # with a token, the smoke test's default model is checked too, with that token
    assert results["hf.model"].summary == f"gpt2 is public on {hub.endpoint}: no token needed"
    assert set(hub.state.tokens) == {TOKEN}


@pytest.mark.parametrize(
    ("place", "fix"),
    [
        ("environment", "unset HF_TOKEN && chatenv configure-key --hf"),
        ("env-file", "chatenv configure-key --hf"),
        ("token-file", "hf auth login --force"),
    ],
)
def test_a_revoked_token_fails_with_the_fix_for_where_it_comes_from(
    tmp_path: Path, hub: FakeHub, place: str, fix: str
) -> None:
    env = {"HF_TOKEN": REVOKED} if place == "environment" else {}
    if place == "env-file":
        (tmp_path / ".env").write_text(f"HF_TOKEN={REVOKED}\n")
    if place == "token-file":
        _token_file(tmp_path, REVOKED)
    results = _collect(tmp_path, hub, **env)
    whoami = results["hf.whoami"]
    assert whoami.status is Status.FAIL
    assert "refused the token hf_…IjKl" in whoami.summary
    assert "(Invalid credentials in Authorization header)" in whoami.summary
    assert whoami.fix == f"create a new token at {hub.endpoint}/settings/tokens, then: {fix}"
    # the model line does not repeat the failure
    assert results["hf.model"].status is Status.SKIP


def test_a_hub_that_does_not_answer_leaves_the_token_unverified(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{closed_port()}"
    results = _collect(tmp_path, HF_TOKEN=TOKEN, HF_ENDPOINT=closed)
    assert results["hf.whoami"].status is Status.WARN
    assert results["hf.whoami"].summary == (
        f"token hf_…AbCd not checked: {closed} did not answer (connection refused)"
    )
    assert results["hf.model"].status is Status.WARN


def test_a_public_model_needs_no_token(tmp_path: Path, hub: FakeHub) -> None:
    results = _collect(tmp_path, hub, model="gpt2")
    assert results["hf.model"].status is Status.OK
    assert results["hf.model"].data["access"] == "public"
    assert hub.state.tokens == [None]


def test_a_gated_model_the_token_may_read_is_ok(tmp_path: Path, hub: FakeHub) -> None:
    model = _collect(tmp_path, hub, model=GATED, HF_TOKEN=TOKEN)["hf.model"]
    assert model.status is Status.OK
    assert model.summary == f"{GATED} is gated (auto) on {hub.endpoint}; this token may read it"


def test_a_gated_model_without_a_token_fails_with_both_steps(tmp_path: Path, hub: FakeHub) -> None:
    model = _collect(tmp_path, hub, model=GATED)["hf.model"]
    assert model.status is Status.FAIL
    assert model.summary == (
        f"{GATED} is gated on {hub.endpoint}: downloading it needs the token of an account with "
        "access, and none is sent"
    )
    assert (
        model.fix == f"request access at {hub.endpoint}/{GATED}, then: chatenv configure-key --hf"
    )


def test_a_gated_model_the_account_may_not_read_names_the_account(
    tmp_path: Path, hub: FakeHub
) -> None:
    model = _collect(tmp_path, hub, model=GATED, HF_TOKEN=OTHER)["hf.model"]
    assert model.status is Status.FAIL
    assert model.summary == (
        f"{GATED} is gated on {hub.endpoint} and the account bob is not on its authorized list"
    )
    assert model.fix == f"request access at {hub.endpoint}/{GATED}"
    assert model.details[0].startswith("the hub said: Access to model")


def test_a_pending_request_is_its_own_line(tmp_path: Path, hub: FakeHub) -> None:
    hub.state.request_access(GATED, "bob")
    model = _collect(tmp_path, hub, model=GATED, HF_TOKEN=OTHER)["hf.model"]
    assert model.status is Status.FAIL
    assert "your request for access awaits the authors' review" in model.summary
    assert model.fix == f"see your requests at {hub.endpoint}/settings/gated-repos"


def test_a_model_the_hub_does_not_have_fails(tmp_path: Path, hub: FakeHub) -> None:
    model = _collect(tmp_path, hub, model="nobody/nothing")["hf.model"]
    assert model.status is Status.FAIL
    assert model.data["access"] == "not-found"
    assert "check the spelling" in (model.fix or "")


def test_a_cached_model_the_token_may_not_read_only_warns(tmp_path: Path, hub: FakeHub) -> None:
    """smoke-test loads from the cache first: a cached gated model still loads."""
    snapshot = tmp_path / "home/.cache/huggingface/hub/models--meta-llama--Llama-3.2-1B"
    (snapshot / "refs").mkdir(parents=True)
    (snapshot / "refs/main").write_text("abc123")
    (snapshot / "snapshots/abc123").mkdir(parents=True)
    (snapshot / "snapshots/abc123/config.json").write_text("{}")
    model = _collect(tmp_path, hub, model=GATED)["hf.model"]
    assert model.status is Status.WARN
    assert model.summary.endswith("; the copy in the cache still loads")


def test_disabling_the_implicit_token_warns_and_the_gated_model_is_not_sent_one(
    tmp_path: Path, hub: FakeHub
) -> None:
    results = _collect(
        tmp_path, hub, model=GATED, HF_TOKEN=TOKEN, HF_HUB_DISABLE_IMPLICIT_TOKEN="1"
    )
    assert results["hf.implicit-token"].status is Status.WARN
    assert results["hf.implicit-token"].fix == "unset HF_HUB_DISABLE_IMPLICIT_TOKEN"
    model = results["hf.model"]
    assert model.status is Status.FAIL
    assert "HF_HUB_DISABLE_IMPLICIT_TOKEN keeps the token from being sent" in model.summary
    # whoami is asked with the token (is it valid?); the model as a download asks: without
    sent = dict(zip((path for _, path in hub.state.requests), hub.state.tokens, strict=True))
    assert sent == {"/api/whoami-v2": TOKEN, f"/api/models/{GATED}": None}


@pytest.mark.parametrize(
    ("options", "reason"),
    [({"offline": True}, "--offline"), ({}, "HF_HUB_OFFLINE is set")],
)
def test_offline_asks_nothing_and_says_why(
    tmp_path: Path, hub: FakeHub, options: dict[str, Any], reason: str
) -> None:
    environ = {"HOME": str(tmp_path), "HF_ENDPOINT": hub.endpoint, "HF_TOKEN": TOKEN}
    if not options:
        environ["HF_HUB_OFFLINE"] = "1"
    ctx = Context(DoctorOptions(environ=environ, cwd=tmp_path, model=GATED, **options))
    results = {r.id: r for r in hf_access.collect(ctx)}
    assert results["hf.whoami"].status is Status.SKIP
    assert results["hf.whoami"].summary == f"token not checked with the hub: {reason}"
    assert results["hf.model"].summary == f"{GATED} not checked with the hub: {reason}"
    assert hub.state.requests == []


def test_a_local_folder_needs_no_hub(tmp_path: Path, hub: FakeHub) -> None:
    results = _collect(tmp_path, hub, model=str(tmp_path / "model"))
    assert results["hf.model"].summary.endswith("is a local folder: no hub access needed")
    assert hub.state.requests == []


# -- the real command --------------------------------------------------------------------------


def test_doctor_model_reports_the_gated_model_in_json_and_never_prints_the_token(
    run_cli: RunCli, tmp_path: Path, hub: FakeHub
) -> None:
    from chatenv.schemas import schema_text

    env = clean_env(
        HOME=str(tmp_path),
        HF_HOME=str(tmp_path / "hf"),
        HF_ENDPOINT=hub.endpoint,
        HF_TOKEN=OTHER,
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    done = run_cli("doctor", "--model", GATED, "--json", env=env)
    assert OTHER not in done.stdout + done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, json.loads(schema_text("doctor")))
    assert document["options"]["model"] == GATED
    found = {r["id"]: r for r in document["results"] if r["section"] == "hf"}
    assert found["hf.whoami"]["data"]["user"] == "bob"
    assert found["hf.model"]["status"] == "fail"
    assert found["hf.model"]["data"]["access"] == "denied"
    assert done.returncode == 1


def test_doctor_refuses_a_model_that_is_neither_folder_nor_id(run_cli: RunCli) -> None:
    done = run_cli("doctor", "--model", "a b/c")
    assert done.returncode == 2
    assert "--model 'a b/c' is neither a folder nor a Hugging Face model id" in done.stderr
    assert "Traceback" not in done.stderr


def test_asking_the_hub_imports_neither_huggingface_hub_nor_the_heavy_stack(
    tmp_path: Path, hub: FakeHub
) -> None:
    """huggingface_hub alone takes a third of a second to import: doctor asks with urllib."""
    env = clean_env(
        HOME=str(tmp_path), HF_ENDPOINT=hub.endpoint, HF_TOKEN=TOKEN, NO_PROXY="127.0.0.1"
    )
    modules = ("huggingface_hub", "transformers", "torch", "httpx2", "chatenv.doctor.hf_access")
    loaded, done = imported_by(["doctor", "--json", "--model", GATED], modules, env)
    assert loaded == {m: m == "chatenv.doctor.hf_access" for m in modules}, done.stderr
    assert "/api/whoami-v2" in {path for _, path in hub.state.requests}


def test_every_test_docs_doctor_md_names_for_a_line_exists() -> None:
    """docs/doctor.md lists each Hugging Face line with the test that proves it."""
    import re

    from tests.conftest import REPO

    page = (REPO / "docs/doctor.md").read_text(encoding="utf-8")
    section = page.split("### Hugging Face access", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"`(test_\w+)`", section))
    assert len(named) >= 15
    assert named <= {name for name in globals() if name.startswith("test_")}

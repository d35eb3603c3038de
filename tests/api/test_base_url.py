"""Azure's per-deployment URL as OPENAI_BASE_URL: every command says what to set instead,
before it makes a request (the plain client cannot call that URL: Azure would answer 401)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from chatenv.api.failures import FailureKind
from chatenv.keys.config import ENVIRONMENT, OpenAIConfig, Setting
from chatenv.keys.mask import Secret
from chatenv.keys.verify import Outcome, VerifyMode, verify
from tests.conftest import clean_env

if TYPE_CHECKING:
    from tests.conftest import RunCli

URL = "https://my-res.openai.azure.com/openai/deployments/my-gpt-4o-mini?api-version=2024-10-21"
FIX = (
    "export OPENAI_BASE_URL=https://my-res.openai.azure.com/openai/v1/  # then pass the "
    "deployment as the model: --api-model my-gpt-4o-mini"
)
AZURE_KEY = "0123456789abcdef0123456789abcdef"


def test_smoke_test_fails_with_the_v1_url_and_the_deployment(
    run_cli: RunCli, tmp_path: Path
) -> None:
    env = clean_env(OPENAI_API_KEY=AZURE_KEY, OPENAI_BASE_URL=URL, HOME=str(tmp_path))
    done = run_cli("smoke-test", "--no-local", "--json", env=env)
    assert done.returncode == 1
    results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
    models = results["api.models"]
    assert models["status"] == "fail"
    assert models["summary"].startswith("OPENAI_BASE_URL is Azure's per-deployment URL")
    assert models["fix"] == FIX
    assert models["data"]["failure"]["kind"] == "azure-deployment-url"
    assert results["api.completion"]["status"] == "skip"
    assert AZURE_KEY not in done.stdout


def test_configure_key_verification_refuses_it_without_asking_the_server() -> None:
    """A request to that host would fail to resolve here (unverified); invalid means none was
    made."""
    config = OpenAIConfig(
        env_file=Path(".env"),
        key=Secret(AZURE_KEY),
        key_source=ENVIRONMENT,
        base_url=Setting(URL, ENVIRONMENT),
    )
    found = verify(config, VerifyMode.AUTO)
    assert found.outcome is Outcome.INVALID and found.failed
    assert found.failure is not None
    assert (found.failure.kind, found.failure.fix) == (FailureKind.AZURE_DEPLOYMENT_URL, FIX)

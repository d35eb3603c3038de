"""Where a model comes from: a local folder, the Hugging Face cache, or the hub.

transformers, given a hub id whose files are cached, still asks the hub whether they changed;
with the hub unreachable it retries each file with back-off, and a cached model takes minutes
to load (measured: 166 s for a tiny cached model with the hub's port closed). So the local stage
loads with `local_files_only=True` first, and goes to the hub only when the files are not all
cached, after `probe` has said, within a short timeout, that the hub answers.
"""

from __future__ import annotations

import shutil
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chatenv.problems import problem
from chatenv.records import dataclass
from chatenv.system.hub_client import Access, refusal

if TYPE_CHECKING:
    from chatenv.keys.mask import Secret

DEFAULT_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True)
class ModelRef:
    """`--model` as given, and the folder it names when it is a local folder."""

    name: str
    folder: Path | None = None

    @property
    def is_folder(self) -> bool:
        return self.folder is not None


def model_ref(text: str) -> ModelRef:
    """A local folder, or a hub id; a path that names nothing is a usage error."""
    name = text.strip()
    if not name:
        raise problem("smoke.model-empty").error()
    path = Path(name).expanduser()
    if path.is_dir():
        _check_folder(name, path)
        return ModelRef(name, path)
    if path.is_file():
        raise problem("smoke.model-is-file").error(name=name, folder=path.parent)
    if _looks_like_path(name):
        raise problem("smoke.model-no-folder").error(name=name)
    reason = _invalid_repo_id(name)
    if reason:
        raise problem("smoke.model-bad-id").error(name=name, reason=reason)
    return ModelRef(name)


#: the files a tokenizer is saved as (tokenizers' tokenizer.json; a slow tokenizer's
#: vocabulary: GPT-2's vocab.json + merges.txt, SentencePiece's tokenizer.model / spiece.model,
#: WordPiece's vocab.txt), any one of which AutoTokenizer can load from
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "vocab.txt",
)


def _check_folder(name: str, path: Path) -> None:
    """A model folder needs a config and a tokenizer: without one, transformers loads the
    weights and then fails far from the cause (an empty vocabulary: "cannot reshape tensor
    of 0 elements")."""
    if not (path / "config.json").is_file():
        return  # transformers says what it misses: the load step explains that failure
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        import json

        try:  # save_pretrained records where the model came from
            source = json.loads((path / "config.json").read_text()).get("_name_or_path")
        except (OSError, ValueError, AttributeError):
            source = None
        source = source if isinstance(source, str) and source and source != str(path) else None
        raise problem("smoke.model-no-tokenizer").error(
            name=name, folder=path, source=source or "<the hub id the model came from>"
        )


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~", ".\\", "..\\"))
        or name in {".", ".."}
        or "\\" in name
        or name.count("/") > 1
    )


def _invalid_repo_id(name: str) -> str | None:
    """huggingface_hub's own validation, when it is installed (it comes with transformers)."""
    try:
        import huggingface_hub.utils as hf_utils
    except ImportError:
        return None
    validate = getattr(hf_utils, "validate_repo_id", None)
    if validate is None:
        return None
    try:
        validate(name)
    except ValueError as exc:  # HFValidationError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid"
        return first.rstrip(".")
    return None


class HubState(str, Enum):
    AVAILABLE = "available"
    NOT_FOUND = "not-found"
    #: gated, and no token is sent (401 GatedRepo)
    NEEDS_TOKEN = "needs-token"
    #: gated, and the token's account is not on the authorized list (403 GatedRepo)
    DENIED = "denied"
    #: gated, and the account's request awaits the authors' review (403 GatedRepo)
    PENDING = "pending"
    #: the hub does not know the token (401 Invalid credentials): every download fails
    TOKEN_REJECTED = "token-rejected"
    OFFLINE = "offline"  # HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set
    UNREACHABLE = "unreachable"


#: what the hub's refusal of a repository request means here
_REFUSALS = {
    Access.NOT_FOUND: HubState.NOT_FOUND,
    Access.NEEDS_TOKEN: HubState.NEEDS_TOKEN,
    Access.DENIED: HubState.DENIED,
    Access.PENDING: HubState.PENDING,
    Access.TOKEN_REJECTED: HubState.TOKEN_REJECTED,
}


@dataclass(frozen=True)
class HubAnswer:
    state: HubState
    endpoint: str
    #: why, in a few words ("connection refused", "timed out after 10s", "HTTP 503"); for a
    #: refusal, the hub's own words (X-Error-Message)
    reason: str = ""


class HubProbe(Protocol):
    def __call__(
        self, repo_id: str, *, timeout: float, token: Secret | None = None
    ) -> HubAnswer: ...


def endpoint() -> str:
    try:
        from huggingface_hub import constants
    except ImportError:
        return DEFAULT_ENDPOINT
    return str(getattr(constants, "ENDPOINT", DEFAULT_ENDPOINT))


def offline_mode() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE), as huggingface_hub itself reads it."""
    from huggingface_hub import constants

    check = getattr(constants, "is_offline_mode", None)
    return bool(check() if callable(check) else getattr(constants, "HF_HUB_OFFLINE", False))


def cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def surely_not_cached(repo_id: str, cache: str | Path | None = None) -> bool:
    """True when the hub cache has no config.json for `repo_id` at `main` (what
    `from_pretrained(..., local_files_only=True)` looks up first), so loading needs the hub.
    False when it has one, and when this cannot tell (huggingface_hub missing or failing): then
    the load itself decides. Reads the cache folder only (`cache`: huggingface_hub's, by
    default): no torch, no network."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache)
    except Exception:
        return False
    return not isinstance(found, str)


def probe(
    repo_id: str,
    *,
    timeout: float,
    endpoint_url: str | None = None,
    token: Secret | None = None,
) -> HubAnswer:
    """The model's metadata, and for a gated model the hub's access check, one request each (no
    retries), through huggingface_hub's own session, so proxies and HF_ENDPOINT are the ones the
    download will use; `token` is the one the download sends (None: none)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    where = endpoint_url or endpoint()
    if offline_mode():
        return HubAnswer(HubState.OFFLINE, where)
    raw = token.reveal() if token is not None else None  # None: what huggingface_hub finds
    try:
        info = HfApi(endpoint=where).model_info(repo_id, timeout=timeout, token=raw)
        if getattr(info, "gated", None):
            _auth_check(where, repo_id, raw, timeout)
    except OfflineModeIsEnabled:
        return HubAnswer(HubState.OFFLINE, where)
    except HfHubHTTPError as exc:
        return refused_by_hub(exc, where) or HubAnswer(HubState.UNREACHABLE, where, _status(exc))
    except Exception as exc:  # connection refused, DNS, TLS, proxy, timeout: all "unreachable"
        return HubAnswer(HubState.UNREACHABLE, where, _network_reason(exc, timeout))
    return HubAnswer(HubState.AVAILABLE, where)


def _auth_check(where: str, repo_id: str, token: str | None, timeout: float) -> None:
    """HfApi.auth_check's request, with a timeout (auth_check takes none)."""
    import importlib

    utils: Any = importlib.import_module("huggingface_hub.utils")  # a lazy module: untyped
    url = f"{where}/api/models/{repo_id}/auth-check"
    headers = utils.build_hf_headers(token=token)
    utils.hf_raise_for_status(utils.get_session().get(url, headers=headers, timeout=timeout))


def refused_by_hub(exc: BaseException, where: str) -> HubAnswer | None:
    """What a refusal anywhere in `exc`'s chain (huggingface_hub's HTTP errors carry the
    response) says of the model or the token, or None when none there says anything."""
    from chatenv.errors import exception_chain

    for link in exception_chain(exc):
        response: Any = getattr(link, "response", None)
        status = getattr(response, "status_code", None)
        if not isinstance(status, int):
            continue
        headers = getattr(response, "headers", None) or {}
        message = str(headers.get("X-Error-Message") or "")
        access = refusal(status, str(headers.get("X-Error-Code") or ""), message)
        if access in _REFUSALS:
            return HubAnswer(_REFUSALS[access], where, message)
    return None


def _status(exc: BaseException) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"HTTP {status}" if status else str(exc)


def _network_reason(exc: BaseException, timeout: float) -> str:
    name = type(exc).__name__
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g}s"
    text = " ".join(str(exc).split())
    lowered = text.lower()
    for needle, reason in (
        ("connection refused", "connection refused"),
        ("name or service not known", "DNS lookup failed"),
        ("nodename nor servname", "DNS lookup failed"),
        ("temporary failure in name resolution", "DNS lookup failed"),
        ("certificate verify failed", "TLS certificate not trusted"),
        ("proxy", "the proxy refused or failed"),
        ("network is unreachable", "network unreachable"),
    ):
        if needle in lowered:
            return reason
    return f"{name}: {text[:120]}" if text else name


def download_command(repo_id: str) -> str:
    """How to put a model in the cache by hand (only the files transformers loads)."""
    patterns = ' --include "*.json" --include "*.safetensors" --include "*.txt" --include "*.model"'
    if shutil.which("hf"):
        return f"hf download {repo_id}{patterns}"
    return (
        'python -c "from huggingface_hub import snapshot_download as d; '
        f"d('{repo_id}', allow_patterns=['*.json', '*.safetensors', '*.txt', '*.model'])\""
    )

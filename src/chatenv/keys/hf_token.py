"""Where the Hugging Face token comes from, as the user's code will see it.

huggingface_hub (`utils/_auth.py: get_token`) takes `HF_TOKEN`, else the legacy
`HUGGING_FACE_HUB_TOKEN`, from the environment, else the token file `hf auth login` writes
(`HF_TOKEN_PATH`, else `$HF_HOME/token`). Code that calls python-dotenv's `load_dotenv()` first
also has the `.env` file's `HF_TOKEN` in its environment, unless the environment already names
the variable (override=False): that is where `chatenv configure-key --hf` stores it, so it
counts here in that place. Every token found is registered with the masker, whichever wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatenv.errors import ChatenvError
from chatenv.keys.config import ENV_FILE, ENVIRONMENT, read_env_file
from chatenv.keys.mask import Secret
from chatenv.records import dataclass

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

HF_TOKEN = "HF_TOKEN"
LEGACY_TOKEN = "HUGGING_FACE_HUB_TOKEN"
#: the source of a token read from the file `hf auth login` writes
TOKEN_FILE = "token-file"
#: huggingface_hub then sends no token unless the caller passes one (transformers does not)
DISABLE_IMPLICIT = "HF_HUB_DISABLE_IMPLICIT_TOKEN"
_TRUE = {"1", "ON", "YES", "TRUE"}


@dataclass(frozen=True)
class TokenFound:
    secret: Secret
    #: ENVIRONMENT, ENV_FILE or TOKEN_FILE
    source: str
    #: the variable (HF_TOKEN, HUGGING_FACE_HUB_TOKEN), or the token file's path
    name: str

    @property
    def masked(self) -> str:
        return self.secret.masked


@dataclass(frozen=True)
class HfTokenConfig:
    env_file: Path
    token_file: Path
    #: the token huggingface_hub will send (None: it sends none)
    token: TokenFound | None = None
    #: every other place holding a different token, hidden by `token`
    shadowed: tuple[TokenFound, ...] = ()
    #: HF_HUB_DISABLE_IMPLICIT_TOKEN is set
    implicit_disabled: bool = False
    #: why the .env file or the token file could not be read
    env_file_error: str | None = None
    token_file_error: str | None = None

    def where(self, found: TokenFound) -> str:
        """Where a token comes from, in words."""
        if found.source == TOKEN_FILE:
            return f"the token file {found.name} (hf auth login)"
        if found.source == ENV_FILE:
            return f"{found.name} in {self.env_file}"
        return f"{found.name} in the environment"


def clean(value: str | None) -> str | None:
    """huggingface_hub's `_clean_token`: line breaks removed, spaces stripped, empty is none."""
    if value is None:
        return None
    return value.replace("\r", "").replace("\n", "").strip() or None


def is_true(value: str | None) -> bool:
    return value is not None and value.upper() in _TRUE


def resolve(
    environ: Mapping[str, str],
    env_file: Path,
    token_file: Path,
    *,
    file_values: Mapping[str, str] | None = None,
) -> HfTokenConfig:
    """The token the user's code will send, and the others it hides (`file_values`: the .env
    file's variables when the caller has them already; else the file is read)."""
    env_error = None
    if file_values is None:
        try:
            file_values = read_env_file(env_file)
        except ChatenvError as exc:
            file_values, env_error = {}, exc.message
    places: list[TokenFound] = []  # in huggingface_hub's order: the first one is sent
    hidden: list[TokenFound] = []
    for name in (HF_TOKEN, LEGACY_TOKEN):
        from_env, from_file = clean(environ.get(name)), clean(file_values.get(name))
        if name in environ:  # load_dotenv does not override a variable that is set, even empty
            if from_env:
                places.append(TokenFound(Secret(from_env), ENVIRONMENT, name))
            if from_file:
                hidden.append(TokenFound(Secret(from_file), ENV_FILE, name))
        elif from_file:
            places.append(TokenFound(Secret(from_file), ENV_FILE, name))
    stored, file_error = read_token_file(token_file)
    if stored:
        places.append(TokenFound(Secret(stored), TOKEN_FILE, str(token_file)))
    winner = places[0] if places else None
    others = [
        found
        for found in (*places[1:], *hidden)
        if winner is not None and found.secret != winner.secret
    ]
    return HfTokenConfig(
        env_file=env_file,
        token_file=token_file,
        token=winner,
        shadowed=tuple(_distinct(others)),
        implicit_disabled=is_true(environ.get(DISABLE_IMPLICIT)),
        env_file_error=env_error,
        token_file_error=file_error,
    )


def read_token_file(path: Path) -> tuple[str | None, str | None]:
    """The token in the file `hf auth login` writes, and why it could not be read (a FIFO or a
    device there is refused, never read)."""
    from chatenv.system.files import FileRefused, read_regular

    try:
        raw = read_regular(path, limit=64 * 1024).data
    except FileRefused as exc:
        if exc.reason == "missing":
            return None, None
        return None, exc.error or exc.kind or exc.reason
    return clean(raw.decode("utf-8", errors="replace")), None


def _distinct(found: list[TokenFound]) -> list[TokenFound]:
    seen: set[Secret] = set()
    kept = []
    for item in found:
        if item.secret not in seen:
            seen.add(item.secret)
            kept.append(item)
    return kept


def for_download(config: HfTokenConfig) -> Secret | None:
    """The token a download should send: the winner, unless HF_HUB_DISABLE_IMPLICIT_TOKEN says
    to send none (as transformers' `from_pretrained` does without `token=`)."""
    if config.token is None or config.implicit_disabled:
        return None
    return config.token.secret


def replace_command(found: TokenFound) -> str:
    """How to put a new token where this one comes from, so that it wins as this one did."""
    if found.source == ENVIRONMENT:  # the .env file's HF_TOKEN only counts once it is unset
        return f"unset {found.name} && chatenv configure-key --hf"
    if found.source == TOKEN_FILE:
        return "hf auth login --force"
    return "chatenv configure-key --hf"

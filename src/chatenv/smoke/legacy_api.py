"""What replaced the v0-era OpenAI API, for users whose code (or tutorial) predates openai 1.0.

Older tutorials show `openai.Completion.create(engine="text-davinci-002", prompt=...)`. That
function is gone since openai 1.0 (Nov 2023) and those models have been shut down; OpenAI's
deprecations page (https://platform.openai.com/docs/deprecations) names the replacements below.
"""

from __future__ import annotations

import re

DEPRECATIONS_PAGE = "https://platform.openai.com/docs/deprecations"
#: the v1 call that replaces `openai.Completion.create` / `openai.ChatCompletion.create`
V1_CALL = (
    'OpenAI().chat.completions.create(model="gpt-4.1-nano", '
    'messages=[{"role": "user", "content": "..."}])'
)
V0_REPLACED = (
    "openai 1.0 replaced the module functions (openai.Completion.create(engine=...), "
    f"openai.ChatCompletion.create(...)) with a client: {V1_CALL}; "
    "`openai migrate` rewrites old code"
)

#: shut-down model (pattern) -> OpenAI's replacement
_RETIRED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"text-davinci-00[123]", "gpt-3.5-turbo-instruct (completions endpoint)"),
        (r"text-(curie|babbage|ada)-001", "babbage-002 or davinci-002 (completions endpoint)"),
        (r"(davinci|curie|babbage|ada)(-instruct-beta)?", "davinci-002 or babbage-002"),
        (r"code-(davinci|cushman)-00[12]", "a chat model such as gpt-4.1-nano"),
        (r"(text|code)-davinci-edit-001", "a chat model such as gpt-4.1-nano"),
        (r"gpt-3\.5-turbo-(0301|0613|16k-0613)", "gpt-3.5-turbo, or today gpt-4.1-nano"),
        (r"gpt-4-(0314|32k|32k-0314|32k-0613)", "gpt-4o, or the cheaper gpt-4.1-nano"),
        (r"gpt-4-(1106-)?vision-preview", "gpt-4o"),
    )
)


def replacement(model: str) -> str | None:
    """OpenAI's replacement for a shut-down model, or None when `model` is not one we know."""
    name = model.strip().lower()
    for pattern, replaced_by in _RETIRED:
        if pattern.fullmatch(name):
            return replaced_by
    return None


def retired_note(model: str) -> str | None:
    """The note for a user who asked for a shut-down model."""
    replaced_by = replacement(model)
    if replaced_by is None:
        return None
    return (
        f"{model} has been shut down; OpenAI's replacement is {replaced_by}. "
        f"In v1 code: {V1_CALL} (see {DEPRECATIONS_PAGE})"
    )

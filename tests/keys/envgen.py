"""Generated .env files: the shapes real files have (what `.env.example` templates, editors,
Windows and shell users leave), combined at random from a fixed seed, so a run always tries
the same files and a failure names one that can be rebuilt (`env_file(seed)`)."""

from __future__ import annotations

import random
import string

KEY = "OPENAI_API_KEY"

#: ways the key's own line appears before chatenv writes it
KEY_LINES = (
    "{k}=old",
    "{k}=",
    "{k}",
    "{k}  # set me",
    "{k} # set me",
    "\t{k}# set me",
    "{k}# set me",
    "export\t{k}   # set me",
    "export {k}=old # prod",
    "export {k}",
    "  {k} = 'old'   # c",
    '{k}="old"',
    '{k}="multi\nline" # m',
    "{k}='sk-old' #c",
    "{k}= # empty",
    "{k}=old#not-a-comment",
    "{k}=old\t# tab comment",
)
OTHER_LINES = (
    "# a comment",
    "#",
    "",
    "   ",
    "OTHER=value",
    "export PATHLIKE=/usr/bin:/bin",
    "URL='postgres://u:p@h/db'  # local",
    'JSON="{\\"a\\": 1}"',
    "EMPTY=",
    "SPACED = spaced value # trailing",
    "HASH=a#b",
    "QUOTED='it is # not a comment'",
    "OPENAI_BASE_URL=http://localhost:11434/v1",
    "OPENAI_API_KEY_2=decoy",
    "MY_OPENAI_API_KEY=decoy",
)
#: the characters a key may hold (chatenv.keys.key_input refuses whitespace, quotes, `\\`,
#: `$` and backticks)
KEY_CHARACTERS = "".join(c for c in string.printable[:94] if c not in "'\"\\$`")


def env_file(seed: int) -> str:
    """One .env text: a few lines, at least one of them the key's (sometimes twice)."""
    rng = random.Random(seed)
    lines = [rng.choice(OTHER_LINES) for _ in range(rng.randint(0, 6))]
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        lines.insert(rng.randint(0, len(lines)), rng.choice(KEY_LINES).format(k=KEY))
    newline = rng.choice(("\n", "\n", "\r\n"))
    text = newline.join(line.replace("\n", newline) for line in lines)
    if rng.random() < 0.8:
        text += newline
    if rng.random() < 0.05:
        text = "\ufeff" + text
    return text


def key(seed: int) -> str:
    """A key: OpenAI's prefixes or none, and any character a key may hold."""
    rng = random.Random(seed * 7919 + 1)
    prefix = rng.choice(("sk-proj-", "sk-", "sk-svcacct-", "", "token-"))
    body = "".join(rng.choice(KEY_CHARACTERS) for _ in range(rng.randint(1, 60)))
    return prefix + body

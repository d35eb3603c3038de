"""Setting variables in .env text: the rest of the file byte for byte, the value exactly as
python-dotenv reads it back."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chatenv.keys.dotenv_file import parse, set_values

KEY = "OPENAI_API_KEY"
NEW = "sk-proj-" + "N3w" * 15 + "abcd"


def read_back(text: str) -> dict[str, str | None]:
    """What load_dotenv / dotenv_values would see in a file holding `text`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ".env"
        path.write_bytes(text.encode("utf-8"))
        return dict(dotenv_values(path))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", f"{KEY}={NEW}\n"),
        ("A=1", f"A=1\n{KEY}={NEW}\n"),
        ("A=1\r\nB=2\r\n", f"A=1\r\nB=2\r\n{KEY}={NEW}\r\n"),
        (f"export {KEY}=old # prod\nB=2\n", f"export {KEY}={NEW} # prod\nB=2\n"),
        (f"  {KEY} = 'old'   # c\r\n", f"  {KEY} = '{NEW}'   # c\r\n"),
        (f'{KEY}="a\nb" # multi\nZ=1\n', f'{KEY}="{NEW}" # multi\nZ=1\n'),
        (f"{KEY}\n", f"{KEY}={NEW}\n"),
        (f"{KEY}= # empty\n", f"{KEY}={NEW} # empty\n"),
        (f"{KEY}=\n", f"{KEY}={NEW}\n"),
        (f"\ufeffA=1\n{KEY}=x\n", f"\ufeffA=1\n{KEY}={NEW}\n"),
        ("export A=1\nexport B=2\n", f"export A=1\nexport B=2\nexport {KEY}={NEW}\n"),
        (f"'{KEY}'=old\n", f"'{KEY}'={NEW}\n"),
        # placeholders as .env.example files have them: the comment stays a comment
        (f"{KEY}  # set me\n", f"{KEY}={NEW}  # set me\n"),
        (f"\t{KEY}# set me\n", f"\t{KEY}={NEW} # set me\n"),
        (f"export\t{KEY}   # set me\n", f"export\t{KEY}={NEW}   # set me\n"),
        (f"{KEY}=real\n{KEY} # set me\n", f"{KEY}={NEW}\n{KEY}={NEW} # set me\n"),
    ],
)
def test_the_key_line_is_replaced_in_place_keeping_export_quotes_and_comment(
    before: str, after: str
) -> None:
    edit = set_values(before, {KEY: NEW})
    assert edit.text == after
    assert read_back(edit.text)[KEY] == NEW


def test_every_duplicate_line_is_updated_so_no_stale_key_wins() -> None:
    edit = set_values(f"{KEY}=a\nB=1\n{KEY}=b\n", {KEY: NEW})
    assert edit.text == f"{KEY}={NEW}\nB=1\n{KEY}={NEW}\n"
    assert edit.replaced == {KEY: [1, 3]}


def test_several_variables_are_set_in_one_edit() -> None:
    edit = set_values(
        "# top\nOPENAI_BASE_URL=http://old\n",
        {KEY: NEW, "OPENAI_BASE_URL": "http://localhost:11434/v1", "OPENAI_ORG_ID": "org-x"},
    )
    assert edit.text == (
        f"# top\nOPENAI_BASE_URL=http://localhost:11434/v1\n{KEY}={NEW}\nOPENAI_ORG_ID=org-x\n"
    )
    assert edit.replaced == {"OPENAI_BASE_URL": [2]} and edit.added == [KEY, "OPENAI_ORG_ID"]


@pytest.mark.parametrize("value", ["it's", 'a "q"', "#hash", "sp ace", "", "x:~root", "a&b"])
def test_values_that_need_quoting_round_trip(value: str) -> None:
    for before in ("", "V=old\n", "V='old'\n", 'V="old"\n'):
        text = set_values(before, {"V": value}).text
        assert read_back(text)["V"] == value, text


@pytest.mark.parametrize(
    "value", ["two\nlines", "cr\rhere", "${HOME}", "back\\slash", 'it\'s "both"', "esc\x1b"]
)
def test_values_a_dotenv_file_cannot_hold_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        set_values("", {"V": value})


def test_malformed_lines_are_found_with_their_line_numbers() -> None:
    document = parse("A=1\n\n\nthis is not a binding\nB='open\n")
    assert document.malformed_lines == [4, 5]


def test_parse_gives_the_text_back_exactly() -> None:
    text = "\ufeff# c\r\n\r\nexport A='x' # y\r\nB\r\n  C = \"m\nl\"\n"
    assert parse(text).render() == text


# -- the property test -------------------------------------------------------------------

_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True).filter(lambda n: n != KEY)
_plain = st.text(st.sampled_from("abcXYZ019-_./:@+,"), max_size=12)
_anything = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n$\\'\""), max_size=12
)
_value = st.one_of(
    _plain,
    _plain.map(lambda v: f"'{v}'"),
    _anything.map(lambda v: f'"{v}"'),
    _anything.map(lambda v: "'" + v + "'"),
    st.just('"multi\nline value"'),
)
_comment = st.one_of(st.just(""), _anything.map(lambda c: f" # {c}"))


@st.composite
def _binding(draw: st.DrawFn, name: st.SearchStrategy[str]) -> tuple[str, str, str, bool]:
    """A binding line, its `export ` prefix and inline comment, and whether it sets the key."""
    export = draw(st.sampled_from(["", "export "]))
    spaces = draw(st.sampled_from(["=", " = ", "= "]))
    comment = draw(_comment)
    variable = draw(name)
    line = f"{export}{variable}{spaces}{draw(_value)}{comment}"
    return line, export, comment, variable == KEY


_line = st.one_of(
    _binding(_names),
    _binding(st.just(KEY)),
    _anything.map(lambda c: (f"# {c}", "", "", False)),
    st.sampled_from([("", "", "", False), ("   ", "", "", False)]),
)


@st.composite
def env_files(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A .env text, and the (export, comment) of each of its OPENAI_API_KEY lines in order."""
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = draw(st.lists(_line, max_size=12))
    text = newline.join(line for line, _, _, _ in lines)
    if lines and draw(st.booleans()):
        text += newline
    key_lines = [(export, comment) for _, export, comment, is_key in lines if is_key]
    return text, key_lines


_keys = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["sk-", "sk-proj-", "sk-svcacct-", "", "ollama-"]),
    st.text(
        st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="'\"\\$`"),
        min_size=1,
        max_size=80,
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=env_files(), key=_keys)
def test_property_other_lines_unchanged_and_key_reads_back(
    generated: tuple[str, list[tuple[str, str]]], key: str
) -> None:
    text, key_lines = generated
    before = parse(text)
    assume(not before.malformed_lines)
    edit = set_values(text, {KEY: key})
    after = parse(edit.text)

    # the key reads back exactly, through python-dotenv reading the file
    values_before, values_after = read_back(text), read_back(edit.text)
    assert values_after[KEY] == key

    # every other variable reads the same
    values_before.pop(KEY, None)
    values_after.pop(KEY, None)
    assert values_after == values_before

    # every other byte of the file is unchanged
    if edit.added:  # the file had no key: it is the old text, then the new line
        separator = "" if not text or text.endswith(("\n", "\r")) else before.newline
        assert edit.text.startswith(text + separator)
        [appended] = parse(edit.text[len(text + separator) :]).bindings
        assert appended.key == KEY and not appended.error
    else:  # the key's lines changed in place; every other piece is identical
        assert len(after.bindings) == len(before.bindings)
        for old, new in zip(before.bindings, after.bindings, strict=True):
            assert new.key == old.key
            if old.key != KEY:
                assert new.text == old.text
        # each key line kept its `export`, its inline comment and its line ending
        new_key_lines = [b.text for b in after.bindings if b.key == KEY]
        old_key_lines = [b.text for b in before.bindings if b.key == KEY]
        assert len(new_key_lines) == len(key_lines)
        for (export, comment), old_text, new_text in zip(
            key_lines, old_key_lines, new_key_lines, strict=True
        ):
            assert new_text.lstrip().startswith(export + KEY)
            assert new_text.rstrip("\r\n").endswith(comment)
            ending = old_text[len(old_text.rstrip("\r\n")) :]
            assert new_text.endswith(ending) and new_text.count("\n") <= old_text.count("\n")

    # replaced in place, never duplicated
    key_lines = sum(1 for b in before.bindings if b.key == KEY)
    assert sum(1 for b in after.bindings if b.key == KEY) == max(key_lines, 1)


# -- the generated corpus (tests/keys/envgen.py) --------------------------------------------


def _check_generated(seed: int) -> None:
    from tests.keys.envgen import env_file, key

    text, new = env_file(seed), key(seed)
    before = parse(text)
    if before.malformed_lines:  # chatenv refuses such a file before editing it
        return
    edit = set_values(text, {KEY: new})
    values_before, values_after = read_back(text), read_back(edit.text)
    assert values_after[KEY] == new, (seed, text, edit.text)
    values_before.pop(KEY, None)
    values_after.pop(KEY, None)
    assert values_after == values_before, (seed, text, edit.text)
    # every line that set the key sets it now, none is added beside them
    assert sum(1 for b in parse(edit.text).bindings if b.key == KEY) == max(
        1, sum(1 for b in before.bindings if b.key == KEY)
    )


@pytest.mark.parametrize("block", range(4))
def test_generated_env_files_read_back_exactly(block: int) -> None:
    """400 generated files (2,000 in the slow tier below)."""
    for seed in range(block * 100, block * 100 + 100):
        _check_generated(seed)


@pytest.mark.slow
def test_two_thousand_generated_env_files_read_back_exactly() -> None:
    for seed in range(400, 2400):
        _check_generated(seed)

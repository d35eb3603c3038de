"""Runs killed mid-write (SIGKILL, at random moments): the file is always the old text or a
whole new one, never torn; the temporary files the killed runs leave are removed by the next
run. A fork server (one process that imports chatenv once, then forks a writer per kill)
keeps each kill at a few milliseconds instead of an interpreter start."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest
from dotenv import dotenv_values

from chatenv.keys import store
from tests.conftest import REPO, clean_env

if TYPE_CHECKING:
    from pathlib import Path

KILLS = 400
ORIGINAL = "# team settings\nexport DATABASE_URL='postgres://x'  # local\nOPENAI_API_KEY=old\n"

FORK_SERVER = textwrap.dedent(
    """
    import json, os, random, signal, sys, time
    from pathlib import Path
    from chatenv.keys.store import update

    path, kills = Path(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(20260501)
    for n in range(kills):
        child = os.fork()
        if child == 0:
            i = 0
            while True:
                update(path, {"OPENAI_API_KEY": f"sk-proj-{n:04d}-{i:06d}" + "k" * 40})
                i += 1
        time.sleep(rng.uniform(0.0005, 0.02))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        text = path.read_text()
        temps = sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp"))
        print(json.dumps({"text": text, "temps": temps}), flush=True)
    """
)


@pytest.mark.slow
def test_killed_writers_never_tear_the_file_and_their_leftovers_are_removed(
    tmp_path: Path,
) -> None:
    env = tmp_path / ".env"
    env.write_text(ORIGINAL)
    done = subprocess.run(
        [sys.executable, "-c", FORK_SERVER, str(env), str(KILLS)],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    states = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(states) == KILLS
    for state in states:  # after every kill: the old file or a whole new one
        text = state["text"]
        assert text.startswith("# team settings\nexport DATABASE_URL='postgres://x'  # local\n")
        key = text.splitlines()[-1].removeprefix("OPENAI_API_KEY=")
        assert key == "old" or (key.startswith("sk-proj-") and key.endswith("k" * 40)), text
    left = {name for state in states for name in state["temps"]}
    print(f"{KILLS} kills; {len(left)} temporary files left by them at some point")

    outcome = store.update(env, {"OPENAI_API_KEY": "sk-proj-final" + "f" * 40})
    assert dotenv_values(env)["OPENAI_API_KEY"] == "sk-proj-final" + "f" * 40
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    assert {p.name for p in outcome.removed_temp_files} <= left

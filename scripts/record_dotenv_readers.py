"""Record what Node's dotenv reads from every .env text chatenv writes
(tests/keys/dotenv_readers.py), into tests/data/node-dotenv-answers.json.

Needs Node and the dotenv package: `npm install --prefix /tmp/nd dotenv@17`, then
`python scripts/record_dotenv_readers.py /tmp/nd/node_modules/dotenv`. Run it again whenever
the writer's output changes: tests/keys/test_dotenv_readers.py fails on a text it has no
answer for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.keys.dotenv_readers import ANSWERS, NAME, written

READER = """
const dotenv = require(process.argv[1]);
const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = {};
for (const t of texts) {
  const parsed = dotenv.parse(Buffer.from(t, 'utf8'));
  const name = process.argv[2];
  out[t] = Object.prototype.hasOwnProperty.call(parsed, name) ? parsed[name] : null;
}
const version = require(process.argv[1] + '/package.json').version;
process.stdout.write(JSON.stringify({version: version, node: process.version, answers: out}));
"""


def main(module: str) -> None:
    texts = sorted(written())
    done = subprocess.run(
        ["node", "-e", READER, module, NAME],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    document = {
        "recorded_with": f"dotenv {found['version']} on Node {found['node']}",
        "by": "scripts/record_dotenv_readers.py",
        "answers": found["answers"],
    }
    ANSWERS.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(texts)} texts recorded to {ANSWERS}")


if __name__ == "__main__":
    main(sys.argv[1])

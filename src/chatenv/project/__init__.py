"""The project's environment, not only chatenv's: a project file (`[tool.chatenv]` in the
project's pyproject.toml, or a chatenv.toml beside it) says what the project needs from a
machine: its packages (read from its own declarations), the torch build, GPUs, environment
variables, models, and the API the smoke test uses. doctor judges the machine by it, setup
provisions it, `chatenv init` writes a first one. docs/project-file.md describes the file.

- `file`: finding and reading the project file;
- `settings`: its keys, typed and checked;
- `requirements`, `locks`: what the project declares, and the versions its lock fixes;
- `models`, `fit`: where a model is, and whether it fits (pure arithmetic);
- `openai_v0`: the scan for code that still uses the OpenAI v0 API;
- `checks`: the machine against the project, as results;
- `starter`: a first project file, written from a working machine.
"""

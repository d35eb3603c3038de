"""chatenv: take a fresh machine to a verified LLM development environment."""

# The single source of the version (pyproject.toml reads it: [tool.hatch.version]). A literal,
# not importlib.metadata.version(), so importing chatenv stays cheap for `chatenv --help`.
__version__ = "0.1.0"

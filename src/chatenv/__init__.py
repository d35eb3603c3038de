"""chatenv: take a fresh machine to a verified LLM development environment."""

# The single source of the version (pyproject.toml reads it: [tool.hatch.version]). A literal,
# not importlib.metadata.version(), so importing chatenv stays cheap for `chatenv --help`.
__version__ = "0.1.0"

#: the distribution this package ships in (`pip install chatenv-cli` once published; the name
#: `chatenv` on PyPI is another project's), and where its source lives
DISTRIBUTION = "chatenv-cli"
REPOSITORY = "https://github.com/chatenv/chatenv"

"""chatenv: take a fresh machine to a verified LLM development environment."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chatenv")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

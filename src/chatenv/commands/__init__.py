"""The command bodies, one module per command, as pipx's `commands/` has them: each is a plain
function (setup: a small class) that takes already-parsed options, does the work through the
library below, and returns the command's `Report`. Nothing here imports Typer or Click: `cli/`
parses the command line and prints, and the bodies can be called from setup, tests or other
programs (tests/test_layering.py keeps it so)."""

"""chatenv's command line. `main` is the console script.

`chatenv doctor` with only its own flags (what users and CI nodes run most) is parsed by
`doctor_fast` without importing Typer: Typer and the pydantic coercion it brings cost ~80 ms
and ~150 ms of a run that is otherwise ~0.25 s on a 2-core machine (`python -X importtime`,
benchmarks/bench_doctor.py). Everything else goes to the Typer app in `chatenv.cli.typer_app`.
"""

from __future__ import annotations

from typing import Any


def main() -> None:
    import sys

    sys.unraisablehook = _unraisable
    try:
        _main()
    except KeyboardInterrupt:  # Ctrl-C while starting, before a command's own handling
        _interrupted()
    except SystemExit as exc:
        if _silent_ctrl_c(exc):
            _interrupted()
        raise


def _unraisable(unraisable: Any) -> None:
    """Ctrl-C that lands in a callback Python cannot raise from (a weak reference's, such as
    the import system's module-lock cleanup: "Exception ignored in ... KeyboardInterrupt" and
    a traceback) is delivered again, where it can be raised: one line and exit 130, as
    anywhere else. Every other unraisable exception is reported as Python does."""
    import sys
    import threading

    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        # from another thread, once this callback has returned (raised here, or from this
        # thread at all, the handler's KeyboardInterrupt would land in the callback again)
        again = threading.Timer(0.01, _interrupt_main, (threading.main_thread().ident,))
        again.daemon = True
        again.start()
        return
    sys.__unraisablehook__(unraisable)


def _interrupt_main(ident: int | None) -> None:
    import signal

    if hasattr(signal, "pthread_kill") and ident is not None:
        signal.pthread_kill(ident, signal.SIGINT)  # a real signal: it wakes a blocking call
    else:  # Windows
        import _thread

        _thread.interrupt_main()


def _silent_ctrl_c(exc: SystemExit) -> bool:
    """Typer turns Ctrl-C while it parses into a silent exit 130 (`raise Exit(130) from` the
    KeyboardInterrupt, then `sys.exit`); commands report theirs themselves (`from None`)."""
    context = exc.__context__
    return (
        exc.code == 130
        and not exc.__suppress_context__
        and context is not None
        and isinstance(context.__cause__, KeyboardInterrupt)
    )


def _main() -> None:
    import os
    import sys

    from chatenv.cli import argv_guard

    argv_guard.check(sys.argv[1:], os.environ)  # before any parser can echo a pasted key
    if sys.argv[1:2] == ["doctor"]:
        from chatenv.cli.doctor_fast import run_fast

        try:
            ran = run_fast(sys.argv[2:])
        except SystemExit as done:
            _exit_now(done.code)
        if ran:
            return
    from chatenv.cli.typer_app import app

    app(prog_name="chatenv")


def _exit_now(code: object) -> None:
    """End the process once its output is flushed, skipping the interpreter's teardown (module
    and thread cleanup, ~15 ms of a ~0.1 s doctor run) and any section thread still stuck in a
    system call past its budget."""
    import os
    import sys

    status = code if isinstance(code, int) else (0 if code is None else 1)
    if not isinstance(code, (int, type(None))):
        print(code, file=sys.stderr)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a closed pipe (`| head`), a closed stream
        pass
    os._exit(status)


def _interrupted() -> None:
    """One line and exit 130, as for Ctrl-C inside a command; a second Ctrl-C while printing
    it only skips the line."""
    from chatenv.errors import EXIT_INTERRUPTED

    try:
        from chatenv import output
        from chatenv.problems import problem

        output.error(*problem("cli.interrupted").pair())
    except KeyboardInterrupt:
        pass
    raise SystemExit(EXIT_INTERRUPTED)


def __getattr__(name: str) -> Any:
    """`from chatenv.cli import app` still works, without paying for Typer on import."""
    if name == "app":
        from chatenv.cli.typer_app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

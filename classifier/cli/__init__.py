"""The policytag command: a thin shell of small command modules over the library.

Exit codes: 0 done, 1 some inputs failed, 2 usage error or an unusable model, corpus or data file. ``main`` is
the one place library errors become messages and exit codes.
"""
from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module

from classifier.cli.options import EXIT_OK, EXIT_USAGE, configure_logging, err
from classifier.cli.parser import build_parser

__all__ = ["main", "build_parser"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    from classifier.errors import PolicytagError
    try:
        return import_module(f"classifier.cli.{args.command}").run(args)
    except PolicytagError as exc:
        err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("interrupted; whole records written so far are kept (use --resume to complete)" if args.command == "tag"
            else "interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK

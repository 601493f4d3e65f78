"""The policytag command: a thin shell of small command modules over the library.

Exit codes: 0 done, 1 some inputs failed, 2 usage error or an unusable model, corpus or data file. ``main`` is
the one place library errors become messages and exit codes.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from importlib import import_module

from classifier.cli.options import EXIT_OK, EXIT_USAGE, configure_logging, err, log
from classifier.cli.parser import build_parser

__all__ = ["main", "build_parser"]


def main(argv: Sequence[str] | None = None) -> int:
    from classifier.errors import PolicytagError
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        args = with_settings(parser, args, argv)
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


def with_settings(parser: argparse.ArgumentParser, args: argparse.Namespace,
                  argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments again, with the settings file's table for this command as its defaults."""
    from pathlib import Path

    from classifier.cli.config import apply_config, find_config

    found = None if args.no_settings else find_config(Path.cwd(), args.settings_file)
    if found is None:
        return args
    path, tables = found
    sub, command = subcommand(parser, args.command), args.command
    origins = apply_config(sub, command, path, tables)
    nested = next((a for a in sub._actions if isinstance(a, argparse._SubParsersAction)), None)
    if nested is not None:  # annotate export|import: [annotate] settings, then [annotate.export]
        action = getattr(args, nested.dest)
        origins |= apply_config(nested.choices[action], f"{command}.{action}", path, tables)
    if not origins:
        return args
    log.info("settings: %s", ", ".join(origins.values()))
    given = vars(args)
    with_file = parser.parse_args(argv)
    # what the file changed (not on the command line): a command can treat such a setting as a standing default
    with_file.from_settings = frozenset(k for k, v in vars(with_file).items() if given.get(k) != v)
    # where each of those came from, so a message about such a value names the file and not a flag never typed
    with_file.setting_origins = {k: origins[k] for k in with_file.from_settings if k in origins}
    return with_file


def subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]

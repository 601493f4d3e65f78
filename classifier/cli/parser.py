"""The argument parser: global options, then one sub-parser per command module (each adds its own)."""
from __future__ import annotations

import argparse
from importlib import import_module

COMMANDS = ("tag", "train", "evaluate", "suggest", "annotate", "corpus", "cache", "encoders")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policytag", description="Tag policy articles with codebook themes, "
                                     "paragraph by paragraph.", epilog="Exit codes: 0 all done; 1 some inputs "
                                     "failed (results for the rest written); 2 usage error.")
    parser.add_argument("--version", action="version", version="policytag 0.1.0")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (python logging, on stderr)")
    parser.add_argument("--config", dest="settings_file", default=None, metavar="FILE",
                        help="settings for repeatable runs (default: ./policytag.toml, else [tool.policytag] in "
                        "./pyproject.toml): one table per command, flag names as keys; the command line wins")
    parser.add_argument("--no-config", dest="no_settings", action="store_true",
                        help="ignore policytag.toml / [tool.policytag]")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:  # command modules import only argparse at module level, so --help stays instant
        import_module(f"classifier.cli.{name}").add_parser(sub)
    return parser

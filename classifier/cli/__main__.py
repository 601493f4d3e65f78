"""``python -m classifier.cli``: the same as the ``policytag`` command."""
import sys

from classifier.cli import main

sys.exit(main())

"""The team's evaluation studies of policytag: ``python -m evaluation.results`` (RESULTS.md), the ablation, the
active-learning study and the real-article check. They run from a checkout; the harness they use ships with the
library as :mod:`classifier.harness` (``policytag evaluate``), so nothing here is installed by the wheel.
"""

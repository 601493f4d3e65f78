"""Run a model over many documents: the local streaming engine and the Ray engine."""

# sentences (counted by :func:`classifier.io.segment.sentence_estimate`) gathered across documents per encoder call
# (and per Ray actor call): ``tag --chunk``'s default. Here, not in ``local`` (which imports numpy), so the
# command's parser and :class:`run.EngineOptions` share it cheaply.
DEFAULT_CHUNK = 1024

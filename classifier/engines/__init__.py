"""Run a model over many documents: the local streaming engine and the Ray engine."""

"""Classify: the heads that turn features into theme probabilities (linear over embeddings, TF-IDF words).
Each head is arrays in, arrays out, saved without pickle."""

# how a sentence head learns from paragraph labels (classifier.heads.linear.fit_sentence_head); here, with no
# import, so the CLI can offer the choices without loading numpy
SENTENCE_LABELS = ("all", "mil")
# the head over embeddings (classifier.heads.linear.new_head): logistic regression, or averaged one-hidden-layer
# networks (classifier.heads.mlp)
EMBEDDING_HEADS = ("linear", "mlp")
# the head of a model folder saved before there was a choice (no 'embedding_head' in its params)
EMBEDDING_HEAD_BEFORE = "linear"

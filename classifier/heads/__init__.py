"""Classify: the heads that turn features into theme probabilities (linear over embeddings, TF-IDF words).
Each head is arrays in, arrays out, saved without pickle."""

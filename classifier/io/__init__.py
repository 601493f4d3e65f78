"""Read -> segment -> write: input readers, paragraph segmentation, labeled tables and corpora, output writers
and the HTML view. Nothing here knows about embeddings or heads."""

"""The Ray names as one import, kept for code written against it (``from classifier.engines.ray_engine import
tag_documents``). The code lives by job: :mod:`~classifier.engines.ray_ship` (the model as it travels),
:mod:`~classifier.engines.ray_data` (the Ray Data API) and :mod:`~classifier.engines.ray_run` (``policytag tag
--engine ray``)."""
from classifier.engines.ray_data import Tagger, read_files, segment_document, tag_documents, tag_paragraphs
from classifier.engines.ray_run import ChunkScorer, RaySession, tag_stream_ray
from classifier.engines.ray_ship import ModelFiles, require_ray
from classifier.records import record_schema

__all__ = ["ChunkScorer", "ModelFiles", "RaySession", "Tagger", "read_files", "record_schema", "require_ray",
           "segment_document", "tag_documents", "tag_paragraphs", "tag_stream_ray"]

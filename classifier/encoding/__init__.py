"""Encode: the sentence encoder, its runtimes (torch, ONNX, int8), the embedding cache, article units and
features, and encoder fine-tuning."""

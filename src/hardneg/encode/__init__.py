"""Texts to vectors: the embed stage, the encode pipeline and its tokenizers, the OpenVINO
backend and its export, and the blocks an interrupted embed job keeps."""

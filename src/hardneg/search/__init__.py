"""Vectors to candidates: per-shard top-k search with exact rescoring, the merged candidate
table and positive scores, the cached vectors by row, and the cross-encoder rescoring."""

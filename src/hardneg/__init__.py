"""Hard-negative mining for text-embedding training.

The workflow's stages (:mod:`hardneg.stages`: one module per rule, run by
``workflow/scripts/stage.py``), the
``hardneg mine`` command (:mod:`hardneg.cli`) and :func:`mine_hard_negatives`, a drop-in
for sentence-transformers' function (:mod:`hardneg.drop_in`; it imports nothing heavy
until called).
"""

from .drop_in import mine_hard_negatives

__all__ = ["mine_hard_negatives"]

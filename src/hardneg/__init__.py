"""Hard-negative mining for text-embedding training.

The workflow's stages (one module each, run by the scripts in ``workflow/scripts/``), the
``hardneg mine`` command (:mod:`hardneg.cli`) and :func:`mine_hard_negatives`, a drop-in
for sentence-transformers' function (:mod:`hardneg.drop_in`; it imports nothing heavy
until called).
"""

from .drop_in import mine_hard_negatives

__all__ = ["mine_hard_negatives"]

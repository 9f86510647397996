"""The evaluate stage's library: what a mining setting does to a model trained on its rows.

Held-out queries (``holdout``), fine-tuning one variant (``train``), ranking the corpus
(``score``), per-query metrics and paired bootstrap intervals (``metrics``), one
dataset's comparison (``evaluation``) and the table over all (``evaluation_summary``),
the variants and the sweep's grid (``variants``) and its report (``sweep_report``).
"""

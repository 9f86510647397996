"""What a person reads: the per-dataset plots, the summary table, the dataset cards, the
output folder's card and the examples pages."""

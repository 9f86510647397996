"""Candidates to negatives: the mine stage's driver, the array selection and its removal
reasons, the near-copy checks, mine's statistics and the sample the examples page reads."""

"""Hard-negative mining: pure functions behind the Snakemake rules.

Each module here is imported by a thin script in ``workflow_scripts/`` (which only
unpacks ``snakemake.input``/``params``) and directly by the tests.
"""

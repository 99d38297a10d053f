"""The run wing: how a study runs (plan, model building, the folder ledger, runs, rounds)."""

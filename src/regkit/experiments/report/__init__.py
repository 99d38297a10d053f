"""The report wing: what a study found (statistics, verdicts, analysis, tables, `Report`)."""

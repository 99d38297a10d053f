"""The study wing: what a study asks (its configuration, variants, grammar and study files)."""

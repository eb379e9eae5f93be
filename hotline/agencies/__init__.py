"""The NEA register of recruitment agencies: import, lookup by name or number, verdicts in words,
and `flask agencies`."""

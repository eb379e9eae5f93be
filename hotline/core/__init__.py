"""What every feature stands on: configuration, the database and its models, Redis and the queues,
time, counties, privacy keys, the engagement ledger, CSV import and small parsing helpers."""

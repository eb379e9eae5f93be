"""Tips from submission to closure: saving a tip, reference codes, routing to the county's focal points,
escalation, follow-up by the reporter, the focal-point directory, and `flask tips`."""

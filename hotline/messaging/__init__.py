"""SMS the service sends: the outbound queue with its retries, and delivery reports applied in order."""

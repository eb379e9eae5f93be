"""SMS that reach the service: the inbound, opt-out and delivery-report webhooks, keyword intake
(tips, follow-up, ACK, agency checks, join and leave) and the SMS reply texts."""

"""The USSD hotline: the `/ussd` webhooks, the menu engine's glue, session state in Redis with its
database backup, and `flask ussd`."""

"""The awareness-SMS contact list: consent, opt-outs and suppression, and `flask contacts`."""

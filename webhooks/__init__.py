"""Flask blueprints that receive platform webhooks: verify, persist to the inbox, answer fast."""

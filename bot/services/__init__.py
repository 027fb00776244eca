"""Business logic between the handlers and the components: answering, escalation."""

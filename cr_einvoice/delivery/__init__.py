"""Delivery of vouchers to their receptor: the graphic representation and the e-mail (MIME composition and
SMTP sending). No store here: the outbox keeps track of what was delivered."""

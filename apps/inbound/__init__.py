"""How a message comes in.

A provider or a website calls a route of views.py (or an MTA pipes an email into
`manage.py ingest_email`); the channel is named by its inbound token, the request checked
(signature, size, content type) and parsed, and stored as an `InboundEvent` before it is
answered: events.py. The worker (hyperrep/outbox) then turns each stored event into a
`received` message of the organization (handlers.py, services.py), threading it by what the
sources say:

- email.py: raw RFC 5322, from the route, the pipe or an ESP's webhook (esp.py);
- text.py: Twilio's incoming messages and the status callbacks of sent ones;
- form.py: a website's form.
"""

"""How an integration hears about what happens: an organization registers endpoints (the API:
views.py, services.py), and each event is sent to the endpoints subscribed to it, signed as
the Standard Webhooks specification says, only to addresses the SSRF policy allows
(addresses.py).
"""

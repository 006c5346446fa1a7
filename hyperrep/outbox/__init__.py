"""The outbox: work that leaves the process (a draft's delivery; later a webhook's, an inbound
event's processing) is a row written in the same transaction as the change that causes it,
and the worker carries it out.

- models.py: `OutboxItem`, the columns every such row has (when it is due, its attempts, its
  last error, the lease of the worker that holds it).
- claims.py: claiming due rows under a lease (`SELECT … FOR UPDATE SKIP LOCKED` on
  PostgreSQL; one writer at a time on SQLite), and recording each attempt's outcome with a
  conditional update.
- worker.py: the loop that claims, calls the handler of each row's kind outside any
  transaction, and records the outcome; `manage.py worker` runs it.

A worker that dies leaves its lease to expire: the row is claimed again and retried, never
lost. Handlers make a repeated attempt harmless (a fixed Message-ID per draft).
"""

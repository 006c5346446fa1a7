"""The outbox: work that leaves the process (a draft's delivery; later a webhook's, an inbound
event's processing) is a row written in the same transaction as the change that causes it,
and the worker carries it out.

- models.py: `OutboxItem`, the columns every such row has (when it is due, its attempts, its
  last error, the lease of the worker that holds it).
- claims.py: claiming a batch of due rows under a lease (`SELECT … FOR UPDATE SKIP LOCKED`
  on PostgreSQL; one writer at a time on SQLite), the handler protocol, and recording the
  batch's outcomes in one transaction, only on the rows the worker still holds.
- worker.py: the loop that claims, has the handler of the rows' kind attempt each outside any
  transaction, and records the outcomes; `manage.py worker` runs it.

A worker that dies leaves its lease to expire: the row is claimed again and retried, never
lost. Handlers make a repeated attempt harmless (a fixed Message-ID per draft).
"""

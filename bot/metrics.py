"""What operators watch, in Prometheus' text format at GET /metrics (prometheus-client)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()

MESSAGES_IN = Counter(
    "outage_bot_messages_in", "Inbound messages accepted into the inbox", ["channel"], registry=REGISTRY
)
DUPLICATES = Counter("outage_bot_duplicates", "Redeliveries recognised and dropped", ["channel"], registry=REGISTRY)
MESSAGES_OUT = Counter("outage_bot_messages_out", "Messages delivered to a platform", ["channel"], registry=REGISTRY)
SEND_ERRORS = Counter(
    "outage_bot_send_errors",
    "Sends that failed (retry: will be retried; undeliverable: set aside; error: unexpected)",
    ["channel", "kind"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "outage_bot_rate_limit_waits", "Sends held back by a platform limit", ["channel"], registry=REGISTRY
)
PROCESSING = Histogram(
    "outage_bot_processing_seconds",
    "From taking an inbox row to committing its turn",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
REMINDERS_FIRED = Counter("outage_bot_reminders_fired", "Reminders sent", registry=REGISTRY)
REMINDERS_LATE = Counter("outage_bot_reminders_late", "Reminders sent more than 5 minutes late", registry=REGISTRY)
LEADER = Gauge("outage_bot_leader", "This worker leads (1) or follows (0)", ["worker"], registry=REGISTRY)
CONNECTIONS_UP = Gauge(
    "outage_bot_connection_up", "A channel's long-lived connection is up (1) or not (0)", ["channel"], registry=REGISTRY
)
RECONNECTS = Counter(
    "outage_bot_reconnects", "Long-lived connections made again after a loss", ["channel"], registry=REGISTRY
)
INBOX_DEPTH = Gauge("outage_bot_inbox_depth", "Inbox rows not yet processed", registry=REGISTRY)
OUTBOX_DEPTH = Gauge("outage_bot_outbox_depth", "Outbox rows not yet sent", ["channel"], registry=REGISTRY)
OPEN_HANDOVERS = Gauge("outage_bot_open_handovers", "Cases queued for or held by a person", registry=REGISTRY)
STORE_WRITE_FAILURES = Counter(
    "outage_bot_store_write_failures", "Database writes that failed, by kind", ["kind"], registry=REGISTRY
)
INVOICE_READS = Counter(
    "outage_bot_invoice_reads",
    "Photos and files read (outcome read: an invoice number found; unread: none; failed: not downloaded or "
    "over the time limit)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
INVOICE_READ_SECONDS = Histogram(
    "outage_bot_invoice_read_seconds",
    "Downloading and reading one photo or file",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20),
    registry=REGISTRY,
)


def render() -> bytes:
    return generate_latest(REGISTRY)


async def refresh_gauges(store) -> None:
    """Queue depths and open cases, read from the database (the worker calls this every few seconds)."""
    INBOX_DEPTH.set((await store.db.execute_fetchall("SELECT COUNT(*) FROM inbox"))[0][0])
    rows = await store.db.execute_fetchall(
        "SELECT channel, COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL GROUP BY channel"
    )
    seen = set()
    for channel, count in rows:
        OUTBOX_DEPTH.labels(channel).set(count)
        seen.add(channel)
    for labels in list(OUTBOX_DEPTH._metrics):
        if labels[0] not in seen:
            OUTBOX_DEPTH.labels(*labels).set(0)
    OPEN_HANDOVERS.set(await store.count_open_cases())

"""The SQLite schema, versioned with PRAGMA user_version. Append migrations; never edit one."""

MIGRATIONS: tuple[str, ...] = (
    # 1: conversations, inbox, outbox, timers, message log
    """
    CREATE TABLE conversations (
        key TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        chat TEXT NOT NULL,
        user TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        dedupe_key TEXT NOT NULL,
        conversation TEXT NOT NULL,
        inbound TEXT NOT NULL,
        received_at REAL NOT NULL,
        done_at REAL,
        UNIQUE (channel, dedupe_key)
    );
    CREATE INDEX inbox_unfinished ON inbox (id) WHERE done_at IS NULL;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        chat TEXT NOT NULL,
        conversation TEXT,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        next_attempt_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at REAL
    );
    CREATE INDEX outbox_pending ON outbox (channel, next_attempt_at) WHERE sent_at IS NULL;
    CREATE TABLE timers (
        id INTEGER PRIMARY KEY,
        conversation TEXT NOT NULL,
        name TEXT NOT NULL,
        due_at REAL NOT NULL,
        payload TEXT NOT NULL,
        fired_at REAL,
        UNIQUE (conversation, name)
    );
    CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;
    CREATE TABLE message_log (
        id INTEGER PRIMARY KEY,
        conversation TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        text TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX message_log_conversation ON message_log (conversation, id);
    """,
    # 2: sends that can never succeed (chat gone, bot blocked) are set aside, not retried forever;
    #    the sender reads one head-of-line message per chat, so keep that lookup indexed
    """
    ALTER TABLE outbox ADD COLUMN failed_at REAL;
    DROP INDEX outbox_pending;
    CREATE INDEX outbox_pending ON outbox (channel, chat, id) WHERE sent_at IS NULL AND failed_at IS NULL;
    """,
    # 3: groups the bot speaks to on its own (WeCom robots and app chats, Telegram groups)
    """
    CREATE TABLE groups (
        name TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        address TEXT NOT NULL,
        subscribed INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL,
        UNIQUE (channel, kind, address)
    );
    """,
    # 4: declared outages, reminders to groups and chats, manual invoice records, per-user profile
    """
    CREATE TABLE outages (
        id INTEGER PRIMARY KEY,
        system TEXT NOT NULL,
        summary TEXT NOT NULL,
        region TEXT,
        until TEXT,
        link TEXT,
        started_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        resolved_at REAL
    );
    CREATE UNIQUE INDEX outages_one_open_per_system ON outages (system) WHERE resolved_at IS NULL;
    CREATE TABLE reminders (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('plan', 'checklist', 'adhoc')),
        channel TEXT NOT NULL,
        chat TEXT NOT NULL,
        text TEXT NOT NULL,
        next_at REAL NOT NULL,
        every_s REAL,
        working_hours INTEGER NOT NULL DEFAULT 0,
        outage_id INTEGER,
        created_by TEXT,
        created_at REAL NOT NULL,
        fired_count INTEGER NOT NULL DEFAULT 0,
        done_at REAL
    );
    CREATE INDEX reminders_due ON reminders (next_at) WHERE done_at IS NULL;
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        user TEXT NOT NULL,
        number TEXT NOT NULL,
        amount TEXT NOT NULL,
        issued_on TEXT NOT NULL,
        counterparty TEXT NOT NULL,
        note TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX records_user ON records (user, id);
    CREATE TABLE profiles (
        user TEXT PRIMARY KEY,
        region TEXT,
        updated_at REAL NOT NULL
    );
    """,
    # 5: handover cases, "did this solve it?" feedback, and the platform's id of each sent message
    #    (an agent's Telegram reply to a case message finds its case through it)
    """
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        conversation TEXT NOT NULL,
        channel TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'claimed', 'closed')),
        summary TEXT NOT NULL,
        agent TEXT,
        agent_name TEXT,
        created_at REAL NOT NULL,
        announced_at REAL NOT NULL,
        claimed_at REAL,
        closed_at REAL
    );
    CREATE UNIQUE INDEX cases_one_open_per_conversation ON cases (conversation) WHERE status != 'closed';
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        conversation TEXT NOT NULL,
        channel TEXT NOT NULL,
        symptom TEXT,
        cause TEXT,
        outcome TEXT NOT NULL,
        steps_done INTEGER NOT NULL,
        steps_skipped INTEGER NOT NULL,
        at REAL NOT NULL
    );
    ALTER TABLE outbox ADD COLUMN sent_ref TEXT;
    CREATE INDEX outbox_sent_ref ON outbox (channel, chat, sent_ref) WHERE sent_ref IS NOT NULL;
    """,
    # 6: smaller per conversation. A processed inbox row is deleted; its dedupe key alone is kept (in
    #    `seen`, until the queue retention) to recognise redeliveries. The transcript keeps one row per
    #    turn: what the user said, and where the bot took them (the texts of playbook replies can be
    #    rendered again; relayed and operations texts are kept as they were).
    """
    CREATE TABLE seen (
        channel TEXT NOT NULL,
        dedupe_key TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (channel, dedupe_key)
    ) WITHOUT ROWID;
    INSERT INTO seen (channel, dedupe_key, at) SELECT channel, dedupe_key, received_at FROM inbox;
    DELETE FROM inbox WHERE done_at IS NOT NULL;
    CREATE TABLE transcript (
        id INTEGER PRIMARY KEY,
        conversation TEXT NOT NULL,
        at REAL NOT NULL,
        said TEXT,
        answer TEXT
    );
    CREATE INDEX transcript_conversation ON transcript (conversation, id);
    INSERT INTO transcript (conversation, at, said, answer)
        SELECT conversation, at, CASE direction WHEN 'in' THEN text END, CASE direction WHEN 'out' THEN text END
        FROM message_log ORDER BY id;
    DROP TABLE message_log;
    """,
    # 7: inbox ids are never reused (AUTOINCREMENT): a row is deleted by the id its processor read,
    # and that id can't meanwhile name a message accepted later
    """
    CREATE TABLE inbox_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        dedupe_key TEXT NOT NULL,
        conversation TEXT NOT NULL,
        inbound TEXT NOT NULL,
        received_at REAL NOT NULL,
        done_at REAL,
        UNIQUE (channel, dedupe_key)
    );
    INSERT INTO inbox_new (id, channel, dedupe_key, conversation, inbound, received_at, done_at)
        SELECT id, channel, dedupe_key, conversation, inbound, received_at, done_at FROM inbox;
    DROP TABLE inbox;
    ALTER TABLE inbox_new RENAME TO inbox;
    CREATE INDEX inbox_unfinished ON inbox (id) WHERE done_at IS NULL;
    """,
    # 8: a send to a group is marked in flight before the call: after a crash it is not repeated
    """
    ALTER TABLE outbox ADD COLUMN in_flight_at REAL;
    """,
    # 9: within a chat, a higher priority goes first: a new case is announced ahead of relays
    """
    ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX outbox_priority ON outbox (channel, chat, id)
        WHERE priority > 0 AND sent_at IS NULL AND failed_at IS NULL;
    """,
    # 10: which worker holds a conversation while it processes its messages, until when (several
    #     workers on one PostgreSQL database; one SQLite process never needs it)
    """
    CREATE TABLE leases (
        conversation TEXT PRIMARY KEY,
        worker TEXT NOT NULL,
        until REAL NOT NULL
    );
    """,
    # 11: the time an outage's next update was promised for, and when its passing was told
    """
    ALTER TABLE outages ADD COLUMN next_update_at REAL;
    ALTER TABLE outages ADD COLUMN overdue_told_at REAL;
    """,
    # 12: the parts of the system an outage concerns (a JSON list of the playbook's component ids)
    """
    ALTER TABLE outages ADD COLUMN components TEXT;
    """,
    # 13: people who want outage notices in their own chat, for some components and a province
    """
    CREATE TABLE subscriptions (
        user TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        chat TEXT NOT NULL,
        components TEXT,
        region TEXT,
        created_at REAL NOT NULL
    );
    """,
    # 14: announced maintenance windows: an outage that opens and closes by itself
    """
    CREATE TABLE maintenance (
        id INTEGER PRIMARY KEY,
        system TEXT NOT NULL,
        summary TEXT NOT NULL,
        components TEXT,
        region TEXT,
        starts_at REAL NOT NULL,
        ends_at REAL NOT NULL,
        quiet INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        reminded_at REAL,
        outage_id INTEGER,
        ended_at REAL,
        cancelled_at REAL
    );
    """,
    # 15: who described which symptom when (outages noticed from the crowd), and the alerts raised
    """
    CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        user TEXT NOT NULL,
        symptom TEXT NOT NULL,
        said TEXT
    );
    CREATE INDEX reports_at ON reports (at);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        symptom TEXT NOT NULL,
        opened_at REAL NOT NULL,
        reports INTEGER NOT NULL,
        usual REAL NOT NULL,
        samples TEXT,
        closed_at REAL,
        outage_id INTEGER
    );
    """,
    # 16: the queue in order of arrival, unsent only: the sender finds each chat's next message by
    # walking it from the oldest and stops after a batch, however long the queue
    """
    CREATE INDEX outbox_queue ON outbox (channel, id) WHERE sent_at IS NULL AND failed_at IS NULL;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

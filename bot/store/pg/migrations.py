"""The PostgreSQL schema, numbered like SQLite's (:mod:`bot.store.migrations`): version N
holds what SQLite's version N holds, so both stores speak of one schema history.

Columns, names and text formats are the SQLite ones (instants as ISO 8601 text in UTC, see
:func:`bot.store.rows.ts`), so one set of row mappers (:mod:`bot.store.records`) reads both
and ``papersbot export``/``import`` moves rows between them unchanged. What differs is the
full-text index: SQLite has FTS5; here each paper carries a ``tsvector`` built in Python by
:mod:`bot.store.pg.tsv` with the same tokens FTS5 makes, under a GIN index (migration 7),
and the narrow ranking columns live on ``papers`` itself (``featured``).

Instants and ledger keys are ``COLLATE "C"`` (byte order, as in SQLite): under a linguistic
collation, which a database created with an ``en_US`` locale has by default, ``...07:00:00+00:00``
sorts after ``...07:00:00.5+00:00`` and ``sub;`` before ``sub:1``, so text order would no
longer be time order, nor the key ranges of :meth:`DeliveryKey.text_range` hold.

``papersbot_schema`` records the version; migrations run under a transaction-level
advisory lock, so processes starting together apply each migration exactly once.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: papers, popularity history, ingest runs, search pagination.
    """
    CREATE TABLE papers (
        rowid         BIGINT PRIMARY KEY,
        id            TEXT NOT NULL UNIQUE,
        title         TEXT NOT NULL,
        abstract      TEXT NOT NULL DEFAULT '',
        authors       TEXT NOT NULL DEFAULT '',
        keywords      TEXT NOT NULL DEFAULT '',
        published     TEXT COLLATE "C",
        daily_day     TEXT COLLATE "C",
        upvotes       INTEGER NOT NULL DEFAULT 0,
        comments      INTEGER NOT NULL DEFAULT 0,
        ai_summary    TEXT,
        github_repo   TEXT,
        github_stars  INTEGER,
        project_page  TEXT,
        organization  TEXT,
        thumbnail     TEXT,
        source        TEXT NOT NULL,
        first_seen    TEXT COLLATE "C" NOT NULL,
        updated_at    TEXT COLLATE "C" NOT NULL,
        -- Unix time of the Daily Papers day, else publication, else first sight (ranking)
        featured      DOUBLE PRECISION NOT NULL DEFAULT 0
    );
    CREATE SEQUENCE papers_rowid_fallback START 1;  -- rowids for ids without a date in them
    CREATE INDEX papers_daily_day ON papers (daily_day, upvotes DESC);
    CREATE INDEX papers_published ON papers (published);

    CREATE TABLE paper_stats (
        paper_rowid BIGINT NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        seen_at     TEXT COLLATE "C" NOT NULL,
        upvotes     INTEGER NOT NULL,
        comments    INTEGER NOT NULL,
        stars       INTEGER,
        PRIMARY KEY (paper_rowid, seen_at)
    );

    CREATE TABLE ingest_runs (
        id          BIGSERIAL PRIMARY KEY,
        source      TEXT NOT NULL,
        day         TEXT COLLATE "C",
        started_at  TEXT COLLATE "C" NOT NULL,
        finished_at TEXT COLLATE "C" NOT NULL,
        ok          INTEGER NOT NULL,
        papers      INTEGER NOT NULL DEFAULT 0,
        error       TEXT
    );
    CREATE INDEX ingest_runs_source ON ingest_runs (source, finished_at);

    CREATE TABLE search_pages (
        token       TEXT PRIMARY KEY,
        query       TEXT NOT NULL,
        created_at  TEXT COLLATE "C" NOT NULL
    );
    """,
    # 2: delivery targets, the delivery ledger and the papers each target received.
    """
    CREATE TABLE targets (
        id              BIGSERIAL PRIMARY KEY,
        platform        TEXT NOT NULL,
        workspace       TEXT NOT NULL DEFAULT '',
        kind            TEXT NOT NULL CHECK (kind IN ('channel', 'user')),
        address         TEXT NOT NULL,
        disabled_at     TEXT COLLATE "C",
        disabled_reason TEXT,
        owner_told      INTEGER NOT NULL DEFAULT 0,
        UNIQUE (platform, workspace, kind, address)
    );

    CREATE TABLE deliveries (
        id          BIGSERIAL PRIMARY KEY,
        target_id   BIGINT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        digest_key  TEXT COLLATE "C" NOT NULL,
        due_at      TEXT COLLATE "C" NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'claimed', 'sent', 'failed', 'missed')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        claimed_at  TEXT COLLATE "C",
        claim_token TEXT,
        next_try_at TEXT COLLATE "C",
        sent_at     TEXT COLLATE "C",
        message_id  TEXT,
        last_error  TEXT,
        UNIQUE (target_id, digest_key)
    );
    CREATE INDEX deliveries_open ON deliveries (state, due_at);
    -- The rows still to send, in the order claim_due takes them (finished rows drop out).
    CREATE INDEX deliveries_unsent ON deliveries (due_at, id) WHERE state IN ('pending', 'claimed');
    -- Planned rows wake the other processes' senders (LISTEN papersbot_due).
    CREATE FUNCTION papersbot_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('papersbot_due', '');
        RETURN NULL;
    END $$;
    CREATE TRIGGER deliveries_notify_due AFTER INSERT ON deliveries
        FOR EACH STATEMENT EXECUTE FUNCTION papersbot_notify_due();

    CREATE TABLE sent_papers (
        target_id   BIGINT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        paper_id    TEXT NOT NULL,
        delivery_id BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        sent_at     TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (target_id, paper_id)
    );
    """,
    # 3: DM subscriptions and channel digests; what a delivery carries; who owns a target.
    """
    CREATE TABLE subscriptions (
        id          BIGSERIAL PRIMARY KEY,  -- never reused: ledger keys name it
        target_id   BIGINT NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        query       TEXT NOT NULL,
        at          TEXT NOT NULL,
        tz          TEXT NOT NULL,
        cadence     TEXT NOT NULL CHECK (cadence IN ('daily', 'weekdays', 'weekly')),
        weekday     INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT COLLATE "C" NOT NULL,
        next_fire   TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX subscriptions_target ON subscriptions (target_id);
    CREATE INDEX subscriptions_due ON subscriptions (next_fire);

    CREATE TABLE channel_digests (
        target_id   BIGINT PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
        at          TEXT NOT NULL,
        tz          TEXT NOT NULL,
        cadence     TEXT NOT NULL CHECK (cadence IN ('daily', 'weekdays', 'weekly')),
        weekday     INTEGER NOT NULL DEFAULT 0,
        top_n       INTEGER NOT NULL,
        filter      TEXT NOT NULL DEFAULT '',
        min_upvotes INTEGER NOT NULL DEFAULT 0,
        empty_days  TEXT NOT NULL CHECK (empty_days IN ('note', 'silent')),
        owner       TEXT NOT NULL,
        created_at  TEXT COLLATE "C" NOT NULL,
        next_fire   TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX channel_digests_due ON channel_digests (next_fire);
    -- A schedule changed in any process re-arms the leader's alarm (LISTEN
    -- papersbot_schedules).
    CREATE FUNCTION papersbot_notify_schedules() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('papersbot_schedules', '');
        RETURN NULL;
    END $$;
    CREATE TRIGGER subscriptions_notify AFTER INSERT OR UPDATE OR DELETE ON subscriptions
        FOR EACH STATEMENT EXECUTE FUNCTION papersbot_notify_schedules();
    CREATE TRIGGER channel_digests_notify AFTER INSERT OR UPDATE OR DELETE ON channel_digests
        FOR EACH STATEMENT EXECUTE FUNCTION papersbot_notify_schedules();

    ALTER TABLE deliveries ADD COLUMN content TEXT;
    ALTER TABLE targets ADD COLUMN owner TEXT;
    CREATE INDEX deliveries_recent ON deliveries (target_id, due_at);
    CREATE INDEX papers_first_seen ON papers (first_seen);
    """,
    # 4: the untold disabled targets, read on every command.
    """
    CREATE INDEX targets_untold ON targets (platform)
        WHERE disabled_at IS NOT NULL AND owner_told = 0;
    """,
    # 5: claims are leases.
    """
    ALTER TABLE deliveries ADD COLUMN lease_until TEXT COLLATE "C";
    """,
    # 6: multi-workspace installs (Slack OAuth) and suspended targets.
    """
    CREATE TABLE installations (
        id            BIGSERIAL PRIMARY KEY,
        platform      TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('bot', 'installation')),
        enterprise_id TEXT NOT NULL DEFAULT '',
        team_id       TEXT NOT NULL DEFAULT '',
        user_id       TEXT NOT NULL DEFAULT '',
        installed_at  TEXT COLLATE "C" NOT NULL,
        payload       BYTEA NOT NULL,
        UNIQUE (platform, kind, enterprise_id, team_id, user_id)
    );
    CREATE INDEX installations_team ON installations (platform, kind, team_id);
    CREATE TABLE oauth_states (
        state       TEXT PRIMARY KEY,
        expires_at  TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
    ALTER TABLE targets ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: full-text search over title, abstract, authors, keywords and AI summary. The
    # tsvector is written by the store (bot.store.pg.tsv) with FTS5's tokens; field weights
    # mark the columns (A title, B abstract, C keywords and summary, D authors) so
    # ``author:`` matches authors only. ``fts_lengths`` holds each field's token count and
    # ``fts_totals`` their sums (BM25's mean field lengths without a scan); ``fts_terms`` the
    # vocabulary with document counts (near-miss spellings).
    """
    ALTER TABLE papers ADD COLUMN fts tsvector NOT NULL DEFAULT ''::tsvector;
    ALTER TABLE papers ADD COLUMN fts_lengths INTEGER[] NOT NULL DEFAULT '{0,0,0,0,0}';
    CREATE INDEX papers_fts ON papers USING gin (fts);
    CREATE INDEX papers_featured ON papers (featured);
    CREATE TABLE fts_totals (
        one      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
        papers   BIGINT NOT NULL DEFAULT 0,
        lengths  BIGINT[] NOT NULL DEFAULT '{0,0,0,0,0}'
    );
    INSERT INTO fts_totals DEFAULT VALUES;
    CREATE TABLE fts_terms (
        term  TEXT COLLATE "C" PRIMARY KEY,  -- byte order: prefix ranges, like FTS5
        docs  INTEGER NOT NULL
    );
    """,
)

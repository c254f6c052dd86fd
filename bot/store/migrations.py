"""Numbered schema migrations, applied in order at start-up inside one transaction each.

A migration is never edited once released; changes go into a new, higher number.
``PRAGMA user_version`` records how far a database has come.

Ordering note: ``papers.rowid`` is derived from the arXiv id (see :func:`bot.store.rows.rowid_for`)
so that "newest rowids" means "newest papers" and full-text search can bound its scoring
work to the newest matches in rowid order.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: papers, popularity history, full-text index, ingest runs, search pagination.
    """
    CREATE TABLE papers (
        rowid         INTEGER PRIMARY KEY,
        id            TEXT NOT NULL UNIQUE,
        title         TEXT NOT NULL,
        abstract      TEXT NOT NULL DEFAULT '',
        authors       TEXT NOT NULL DEFAULT '',   -- names, one per line
        keywords      TEXT NOT NULL DEFAULT '',   -- AI keywords, one per line
        published     TEXT,                       -- ISO timestamp (UTC)
        daily_day     TEXT,                       -- YYYY-MM-DD, the Daily Papers day
        upvotes       INTEGER NOT NULL DEFAULT 0,
        comments      INTEGER NOT NULL DEFAULT 0,
        ai_summary    TEXT,
        github_repo   TEXT,
        github_stars  INTEGER,
        project_page  TEXT,
        organization  TEXT,
        thumbnail     TEXT,
        source        TEXT NOT NULL,
        first_seen    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
    );
    CREATE INDEX papers_daily_day ON papers (daily_day, upvotes DESC);
    CREATE INDEX papers_published ON papers (published);

    CREATE TABLE paper_stats (
        paper_rowid INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        seen_at     TEXT NOT NULL,
        upvotes     INTEGER NOT NULL,
        comments    INTEGER NOT NULL,
        stars       INTEGER,
        PRIMARY KEY (paper_rowid, seen_at)
    ) WITHOUT ROWID;

    -- What ranking needs, narrow so search can read thousands of candidates quickly.
    -- featured: Unix time of the Daily Papers day, else publication, else first sight.
    CREATE TABLE paper_rank (
        rowid     INTEGER PRIMARY KEY,
        upvotes   INTEGER NOT NULL,
        comments  INTEGER NOT NULL,
        stars     INTEGER,
        featured  REAL NOT NULL
    );
    CREATE TRIGGER paper_rank_insert AFTER INSERT ON papers BEGIN
        INSERT INTO paper_rank (rowid, upvotes, comments, stars, featured)
        VALUES (new.rowid, new.upvotes, new.comments, new.github_stars,
                CAST(strftime('%s', COALESCE(new.daily_day, new.published, new.first_seen))
                     AS REAL));
    END;
    CREATE TRIGGER paper_rank_update
    AFTER UPDATE OF upvotes, comments, github_stars, daily_day, published ON papers BEGIN
        UPDATE paper_rank SET
            upvotes = new.upvotes, comments = new.comments, stars = new.github_stars,
            featured = CAST(strftime('%s', COALESCE(new.daily_day, new.published,
                                                    new.first_seen)) AS REAL)
        WHERE rowid = new.rowid;
    END;
    CREATE TRIGGER paper_rank_delete AFTER DELETE ON papers BEGIN
        DELETE FROM paper_rank WHERE rowid = old.rowid;
    END;

    CREATE VIRTUAL TABLE papers_fts USING fts5 (
        title, abstract, authors, keywords,
        content = 'papers', content_rowid = 'rowid',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts (rowid, title, abstract, authors, keywords)
        VALUES (new.rowid, new.title, new.abstract, new.authors, new.keywords);
    END;
    CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, keywords)
        VALUES ('delete', old.rowid, old.title, old.abstract, old.authors, old.keywords);
    END;
    CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors, keywords ON papers
    WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract
      OR old.authors IS NOT new.authors OR old.keywords IS NOT new.keywords
    BEGIN
        INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, keywords)
        VALUES ('delete', old.rowid, old.title, old.abstract, old.authors, old.keywords);
        INSERT INTO papers_fts (rowid, title, abstract, authors, keywords)
        VALUES (new.rowid, new.title, new.abstract, new.authors, new.keywords);
    END;

    -- One row per fetch attempt of a source, for freshness and staleness in `status`.
    CREATE TABLE ingest_runs (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,               -- 'hf', 'arxiv', 'snapshot'
        day         TEXT,                        -- the day fetched, if any
        started_at  TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        ok          INTEGER NOT NULL,
        papers      INTEGER NOT NULL DEFAULT 0,
        error       TEXT
    );
    CREATE INDEX ingest_runs_source ON ingest_runs (source, finished_at);

    -- Search queries behind "More" buttons: the token fits any button id (Discord: 100 chars).
    CREATE TABLE search_pages (
        token       TEXT PRIMARY KEY,
        query       TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    """,
    # 2: delivery targets, DM subscriptions, channel digests, the delivery ledger and the
    # per-target record of papers sent (canonical ids: v2 of a paper is never "new").
    """
    CREATE TABLE targets (
        id              INTEGER PRIMARY KEY,
        platform        TEXT NOT NULL,               -- 'slack', 'discord', 'console'
        workspace       TEXT NOT NULL DEFAULT '',    -- Slack team / Discord guild ('' for DMs)
        kind            TEXT NOT NULL CHECK (kind IN ('channel', 'user')),
        address         TEXT NOT NULL,               -- channel id, or user id for DMs
        disabled_at     TEXT,                        -- set on a permanent failure
        disabled_reason TEXT,
        owner_told      INTEGER NOT NULL DEFAULT 0,  -- the owner has been told it is disabled
        UNIQUE (platform, workspace, kind, address)
    );

    CREATE TABLE deliveries (
        id          INTEGER PRIMARY KEY,
        target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        digest_key  TEXT NOT NULL,                   -- e.g. 'digest:2026-08-19', 'sub:7:2026-08-19'
        due_at      TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'claimed', 'sent', 'failed', 'missed')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        claimed_at  TEXT,
        claim_token TEXT,
        next_try_at TEXT,                            -- backoff for transient failures
        sent_at     TEXT,
        message_id  TEXT,
        last_error  TEXT,
        UNIQUE (target_id, digest_key)
    );
    CREATE INDEX deliveries_open ON deliveries (state, due_at);

    CREATE TABLE sent_papers (
        target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        paper_id    TEXT NOT NULL,
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        sent_at     TEXT NOT NULL,
        PRIMARY KEY (target_id, paper_id)
    ) WITHOUT ROWID;
    """,
    # 3: what is scheduled: DM subscriptions and channel digests. ``next_fire`` (UTC) is when
    # each is next due, so finding due schedules is one indexed range scan; the ledger
    # (``deliveries``) stays the only record of what was sent. ``deliveries.content`` keeps
    # what a delivery carries once composed (kind and paper ids), so a retry after a crash
    # re-sends the same thing.
    """
    CREATE TABLE subscriptions (
        -- AUTOINCREMENT: an id is never reused, since ledger keys ('sub:<id>:<day>') name it
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,  -- a user (DM)
        query       TEXT NOT NULL,
        at          TEXT NOT NULL,                   -- local wall time, HH:MM
        tz          TEXT NOT NULL,                   -- IANA zone
        cadence     TEXT NOT NULL CHECK (cadence IN ('daily', 'weekdays', 'weekly')),
        weekday     INTEGER NOT NULL DEFAULT 0,      -- 0 = Monday, for weekly
        created_at  TEXT NOT NULL,
        next_fire   TEXT NOT NULL
    );
    CREATE INDEX subscriptions_target ON subscriptions (target_id);
    CREATE INDEX subscriptions_due ON subscriptions (next_fire);

    CREATE TABLE channel_digests (
        target_id   INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
        at          TEXT NOT NULL,
        tz          TEXT NOT NULL,
        cadence     TEXT NOT NULL CHECK (cadence IN ('daily', 'weekdays', 'weekly')),
        weekday     INTEGER NOT NULL DEFAULT 0,
        top_n       INTEGER NOT NULL,
        filter      TEXT NOT NULL DEFAULT '',
        min_upvotes INTEGER NOT NULL DEFAULT 0,
        empty_days  TEXT NOT NULL CHECK (empty_days IN ('note', 'silent')),
        owner       TEXT NOT NULL,                   -- platform user id who turned it on
        created_at  TEXT NOT NULL,
        next_fire   TEXT NOT NULL
    );
    CREATE INDEX channel_digests_due ON channel_digests (next_fire);

    ALTER TABLE deliveries ADD COLUMN content TEXT;  -- JSON: {"kind": ..., "papers": [...]}
    ALTER TABLE targets ADD COLUMN owner TEXT;       -- who to tell when it gets disabled
    CREATE INDEX deliveries_recent ON deliveries (target_id, due_at);
    CREATE INDEX papers_first_seen ON papers (first_seen);
    """,
    # 4: every command asks whether its user has a stopped delivery to be told about; a
    # partial index makes that a read of the (few) untold disabled targets.
    """
    CREATE INDEX targets_untold ON targets (platform)
        WHERE disabled_at IS NOT NULL AND owner_told = 0;
    """,
    # 5: a claim is a lease: it holds its row until ``lease_until``, and only an expired
    # lease is taken over (a claim left by an older release expires at once).
    """
    ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
    UPDATE deliveries SET lease_until = claimed_at WHERE state = 'claimed';
    """,
    # 6: multi-workspace installs (Slack OAuth). ``installations`` holds each workspace's
    # credentials as an encrypted payload (Fernet, sealed above the store); ``oauth_states``
    # the one-time ``state`` of install flows in progress. ``targets.suspended`` marks a
    # target stopped because its workspace uninstalled the bot: a reinstall resumes exactly
    # those, never a target stopped for its own reasons (blocked DMs, a deleted channel).
    """
    CREATE TABLE installations (
        id            INTEGER PRIMARY KEY,
        platform      TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('bot', 'installation')),
        enterprise_id TEXT NOT NULL DEFAULT '',
        team_id       TEXT NOT NULL DEFAULT '',
        user_id       TEXT NOT NULL DEFAULT '',
        installed_at  TEXT NOT NULL,
        payload       BLOB NOT NULL,
        UNIQUE (platform, kind, enterprise_id, team_id, user_id)
    );
    -- a scheduled post looks its workspace up by team, whatever the enterprise
    CREATE INDEX installations_team ON installations (platform, kind, team_id);
    CREATE TABLE oauth_states (
        state       TEXT PRIMARY KEY,
        expires_at  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
    ALTER TABLE targets ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: the AI summary becomes a searchable field of its own (Hugging Face writes one for
    # most recent papers, often naming the method in words the abstract abbreviates), so the
    # full-text index is re-created with a fifth column and rebuilt from ``papers``.
    """
    DROP TRIGGER papers_fts_insert;
    DROP TRIGGER papers_fts_delete;
    DROP TRIGGER papers_fts_update;
    DROP TABLE papers_fts;
    CREATE VIRTUAL TABLE papers_fts USING fts5 (
        title, abstract, authors, keywords, ai_summary,
        content = 'papers', content_rowid = 'rowid',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO papers_fts (papers_fts) VALUES ('rebuild');
    -- The index's vocabulary, read (by term range, bounded) to name near-miss spellings
    -- when a search finds nothing.
    CREATE VIRTUAL TABLE papers_fts_terms USING fts5vocab (papers_fts, 'row');
    CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts (rowid, title, abstract, authors, keywords, ai_summary)
        VALUES (new.rowid, new.title, new.abstract, new.authors, new.keywords, new.ai_summary);
    END;
    CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, keywords, ai_summary)
        VALUES ('delete', old.rowid, old.title, old.abstract, old.authors, old.keywords,
                old.ai_summary);
    END;
    CREATE TRIGGER papers_fts_update
    AFTER UPDATE OF title, abstract, authors, keywords, ai_summary ON papers
    WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract
      OR old.authors IS NOT new.authors OR old.keywords IS NOT new.keywords
      OR old.ai_summary IS NOT new.ai_summary
    BEGIN
        INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, keywords, ai_summary)
        VALUES ('delete', old.rowid, old.title, old.abstract, old.authors, old.keywords,
                old.ai_summary);
        INSERT INTO papers_fts (rowid, title, abstract, authors, keywords, ai_summary)
        VALUES (new.rowid, new.title, new.abstract, new.authors, new.keywords, new.ai_summary);
    END;
    """,
)

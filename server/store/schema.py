"""The database's schema: one sqlite-utils Migrations set, applied at every start.

Only this package knows table and column names; everything else asks the Store or the History.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("jiaohao")


@migrations(name="0001_wal", transactional=False)
def _wal(db: Database) -> None:
    db.enable_wal()


@migrations(name="0002_tables")
def _tables(db: Database) -> None:
    db.execute("""
        CREATE TABLE tickets (
            id TEXT PRIMARY KEY, business_date TEXT NOT NULL, service TEXT NOT NULL, lane TEXT NOT NULL,
            number TEXT NOT NULL, n INTEGER NOT NULL, status TEXT NOT NULL, issued_at TEXT NOT NULL,
            ord INTEGER NOT NULL, called_at TEXT, started_at TEXT, finished_at TEXT, counter TEXT,
            outcome TEXT, device TEXT, walk_in INTEGER NOT NULL DEFAULT 0, transferred_from TEXT)""")
    db.execute("CREATE INDEX tickets_open ON tickets (status, business_date)")
    db.execute("""
        CREATE TABLE counters (id TEXT PRIMARY KEY, open INTEGER NOT NULL, ticket TEXT,
                               streak INTEGER NOT NULL DEFAULT 0)""")
    db.execute("""
        CREATE TABLE numbering (business_date TEXT NOT NULL, service TEXT NOT NULL, next_n INTEGER NOT NULL,
                                PRIMARY KEY (business_date, service))""")
    db.execute("CREATE TABLE service_stats (service TEXT PRIMARY KEY, mean_s REAL NOT NULL, visits INTEGER NOT NULL)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("""
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, business_date TEXT NOT NULL,
            kind TEXT NOT NULL, ticket TEXT, actor TEXT, counter TEXT, service TEXT, lane TEXT,
            open_counters INTEGER NOT NULL, outcome TEXT, detail TEXT NOT NULL DEFAULT '{}')""")
    db.execute("CREATE INDEX events_by_day ON events (business_date, kind)")
    db.execute("CREATE INDEX events_by_ticket ON events (ticket)")
    # The log is append-only: reports and appeals about a skipped number are answered from it.
    db.execute("""CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""")
    db.execute("""CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""")
    db.execute("""
        CREATE TABLE idempotency (device TEXT NOT NULL, key TEXT NOT NULL, business_date TEXT NOT NULL,
                                  ticket TEXT NOT NULL, request TEXT NOT NULL,
                                  PRIMARY KEY (device, key, business_date))""")


@migrations(name="0003_users_and_ratings")
def _users(db: Database) -> None:
    db.execute("""
        CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
                            created_at TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1)""")
    db.execute("""
        CREATE TABLE ratings (ticket TEXT PRIMARY KEY, at TEXT NOT NULL, business_date TEXT NOT NULL,
                              counter TEXT NOT NULL, clerk TEXT, service TEXT NOT NULL, score INTEGER NOT NULL,
                              comment TEXT, source TEXT NOT NULL)""")


@migrations(name="0004_appointments")
def _appointments(db: Database) -> None:
    # An appointment ticket knows its booking (CONTRACT.md "Appointments"); older rows have none.
    db.execute("ALTER TABLE tickets ADD COLUMN appointment_code TEXT")
    db.execute("ALTER TABLE tickets ADD COLUMN appointment_slot TEXT")
    db.execute("""
        CREATE TABLE appointments (code TEXT PRIMARY KEY, business_date TEXT NOT NULL, service TEXT NOT NULL,
                                   slot TEXT NOT NULL, status TEXT NOT NULL, ticket TEXT, checked_in_at TEXT,
                                   booked_at TEXT, source TEXT)""")
    db.execute("CREATE INDEX appointments_by_day ON appointments (business_date, slot)")


@migrations(name="0005_report_indexes")
def _report_indexes(db: Database) -> None:
    # The waits report reads a range of business days from the tickets (a year: ~120,000 rows);
    # without this it scans the whole table. On a large existing database the first start after
    # upgrading builds it once (about a second per 100,000 tickets).
    db.execute("CREATE INDEX IF NOT EXISTS tickets_by_day ON tickets (business_date)")
    db.execute("CREATE INDEX IF NOT EXISTS ratings_by_day ON ratings (business_date)")


@migrations(name="0006_office_at_run_time")
def _office_at_run_time(db: Database) -> None:
    # Admins' changes to keys of the office file (`counters.3.services`), beside the file: which
    # wins when they differ is in docs/configuration.md.
    db.execute("""
        CREATE TABLE office_overrides (key TEXT PRIMARY KEY, value TEXT NOT NULL, set_at TEXT NOT NULL,
                                       set_by TEXT)""")
    # Announcements made or changed at run time; `deleted` keeps a removed file announcement removed.
    db.execute("""
        CREATE TABLE announcements (id TEXT PRIMARY KEY, text_zh TEXT NOT NULL, text_en TEXT NOT NULL,
                                    starts_at TEXT, ends_at TEXT, position INTEGER NOT NULL,
                                    deleted INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, updated_by TEXT)""")
    # Devices issued at run time (only a hash of the token), and revocations of the file's devices.
    db.execute("""
        CREATE TABLE devices (id TEXT PRIMARY KEY, role TEXT NOT NULL, counter TEXT, token_sha256 TEXT,
                              created_at TEXT NOT NULL, created_by TEXT, revoked_at TEXT, revoked_by TEXT)""")
    # Images and videos for the boards: the files are beside the database (server/media.py).
    db.execute("""
        CREATE TABLE media (id TEXT PRIMARY KEY, kind TEXT NOT NULL, mime TEXT NOT NULL, file TEXT NOT NULL,
                            size INTEGER NOT NULL, name TEXT NOT NULL, uploaded_at TEXT NOT NULL, uploaded_by TEXT,
                            deleted INTEGER NOT NULL DEFAULT 0)""")


@migrations(name="0007_sessions")
def _sessions(db: Database) -> None:
    # Staff logins, kept on the hub so that logging out or disabling an account ends them at once.
    # Only a hash of the session id is kept: a copy of the database logs nobody in.
    db.execute("""
        CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, user TEXT NOT NULL, counter TEXT,
                               created_at TEXT NOT NULL, expires_at TEXT NOT NULL)""")
    db.execute("CREATE INDEX sessions_by_user ON sessions (user)")


@migrations(name="0008_device_seen")
def _device_seen(db: Database) -> None:
    # When each device last used its token, so that GET /devices still knows after a restart. Written
    # by the hub's tick at most once a minute per device (server/hub/devices.py), never per request.
    db.execute("CREATE TABLE device_seen (id TEXT PRIMARY KEY, last_seen TEXT NOT NULL)")


@migrations(name="0009_handling_spread")
def _handling_spread(db: Database) -> None:
    # The spread of each service's handling time (an exponentially weighted variance, s²), which
    # the wait estimate's range is made from (issue #12). NULL until the next finished visit.
    db.execute("ALTER TABLE service_stats ADD COLUMN var_s2 REAL")

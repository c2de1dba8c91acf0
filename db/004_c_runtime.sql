-- SPDX-License-Identifier: MIT
-- State the Go process kept in memory, shared here by separate processes
-- (data-model.md §3, C design).
-- +goose Up
ALTER TABLE peers ADD COLUMN tunnel_type TEXT NOT NULL DEFAULT 'full';
ALTER TABLE peers ADD COLUMN split_cidrs TEXT NOT NULL DEFAULT '';

CREATE TABLE login_attempts (
    ip TEXT NOT NULL,
    ts INTEGER NOT NULL
);
CREATE INDEX idx_login_attempts_ip_ts ON login_attempts(ip, ts);

CREATE TABLE alert_state (
    alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    subject  TEXT NOT NULL,
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (alert_id, subject)
);

CREATE TABLE log_entries (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    ts    INTEGER NOT NULL,
    level TEXT NOT NULL,
    msg   TEXT NOT NULL,
    attrs TEXT NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE log_entries;
DROP TABLE alert_state;
DROP TABLE login_attempts;
ALTER TABLE peers DROP COLUMN split_cidrs;
ALTER TABLE peers DROP COLUMN tunnel_type;

-- SPDX-License-Identifier: MIT
-- +goose Up
ALTER TABLE peers ADD COLUMN expires_at INTEGER;

-- +goose Down
ALTER TABLE peers DROP COLUMN expires_at;

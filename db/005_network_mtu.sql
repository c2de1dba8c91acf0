-- SPDX-License-Identifier: MIT
-- feat-005: MTU per network (roadmap.md); 1420 = 1500 - 80 (WireGuard over IPv6).
-- +goose Up
ALTER TABLE networks ADD COLUMN mtu INTEGER NOT NULL DEFAULT 1420;

-- +goose Down
ALTER TABLE networks DROP COLUMN mtu;

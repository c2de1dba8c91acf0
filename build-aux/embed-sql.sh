#!/bin/sh
# SPDX-License-Identifier: MIT
# Embeds the migration files given as arguments (in order) into a C table.
set -eu
echo '/* Generated from the db/ migration files by build-aux/embed-sql.sh -- do not edit. */'
echo '#include "db.h"'
echo 'const struct db_migration db_migrations[] = {'
for f in "$@"; do
	printf '\t{ "%s",\n' "$(basename "$f")"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
echo '};'
echo "const int db_migrations_count = $#;"

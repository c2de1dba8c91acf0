#!/bin/sh
# SPDX-License-Identifier: MIT
#
# stamp.sh DIR [PREFIX]: cache busting for an installed copy of the UI
# (make install runs it on $(pkgdatadir)/www; never run it on the sources).
#
# Every URL of a file of the UI gets the query ?v=PREFIX-HASH, HASH taken
# from the contents of all files: index.html's script, modulepreload and
# stylesheet links, and every relative static import ("from './api.js'").
# app.js loads the views with the query it was loaded with itself
# (import.meta.url), so dynamic imports need no rewriting.  nginx caches a
# URL with ?v= for a year (immutable) and revalidates everything else
# (wgpilot.conf.in, map $arg_v), so an upgrade is never hidden behind a
# stale cache and the browser never asks for an unchanged file again.
#
# All URLs of a module must be the same string, or the browser runs the
# module twice (two routers); so it fails when a local URL is left without
# the query.  The source tree, served as is by ./quickstart, has no query
# anywhere: consistent too, and always revalidated.
set -eu

dir=${1:?usage: stamp.sh DIR [PREFIX]}
prefix=${2:-}
[ -f "$dir/index.html" ] || { echo "stamp.sh: no $dir/index.html" >&2; exit 1; }

if grep -q '?v=' "$dir/index.html"; then
	echo "stamp.sh: $dir is stamped already" >&2
	exit 0
fi

files=$(cd "$dir" && find . -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' \) | LC_ALL=C sort)
hash=$(cd "$dir" && for f in $files; do cat "$f"; done | sha256sum | cut -c1-12)
v=${prefix:+$prefix-}$hash
case $v in
*[!A-Za-z0-9._~-]*) echo "stamp.sh: version '$v' is not URL-safe" >&2; exit 1 ;;
esac

# rewrite FILE SED-SCRIPT: in place, keeping the file's mode and owner.
rewrite() {
	sed -E "$2" "$1" >"$1.stamp"
	cat "$1.stamp" >"$1"
	rm -f "$1.stamp"
}

for f in $files; do
	case $f in
	*.html) rewrite "$dir/$f" "s#((href|src)=\"/[A-Za-z0-9_/.-]+\\.(js|css))\"#\\1?v=$v\"#g" ;;
	*.js) rewrite "$dir/$f" "s#(from '\\.{1,2}/[A-Za-z0-9_/.-]+\\.js)'#\\1?v=$v'#g" ;;
	esac
done

# every local URL must carry the query now
left=$(cd "$dir" && grep -nE "(href|src)=\"/[^\"?]+\\.(js|css)\"|(from|import) *['\"]\\.{1,2}/[^'\"?]+['\"]|import\\(['\"]" \
	$files || true)
left=$left$(cd "$dir" && grep -nF 'import(`' $files | grep -vF '${VERSION}' || true)
if [ -n "$left" ]; then
	echo "stamp.sh: URLs left without ?v= (the browser would load those modules twice):" >&2
	printf '%s\n' "$left" >&2
	exit 1
fi
echo "stamp.sh: $dir stamped with ?v=$v"

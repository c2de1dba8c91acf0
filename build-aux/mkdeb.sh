#!/bin/sh
# SPDX-License-Identifier: MIT
# mkdeb.sh DISTDIR [OUTDIR]: builds the Debian package of wgpilot (run by
# `make deb`). DISTDIR is a throw-away copy of the distribution (`make
# distdir`: the sources with their generated configure and the debian/
# directory); dpkg-buildpackage -b builds in it, the .deb is moved to OUTDIR
# (default: the current directory) and its path printed, and DISTDIR's parent
# is removed on success. Nothing is written next to the sources.
#
# WGP_DEB_VERSION=V adds a changelog entry for version V first (a rebuild
# with a higher version, as t/58-deb.sh does to test an upgrade).
set -eu

src=$1
out=${2:-.}
[ -f "$src/debian/control" ] || { echo "mkdeb.sh: $src has no debian/ directory" >&2; exit 1; }
for c in dpkg-buildpackage dh dpkg-shlibdeps; do
	command -v "$c" >/dev/null || {
		echo "mkdeb.sh: $c is missing (apt-get install dpkg-dev debhelper)" >&2
		exit 1
	}
done
src=$(cd "$src" && pwd)
work=$(dirname "$src")
mkdir -p "$out"
out=$(cd "$out" && pwd)
chmod +x "$src/debian/rules"

if [ -n "${WGP_DEB_VERSION:-}" ]; then
	{
		printf 'wgpilot (%s) unstable; urgency=medium\n\n' "$WGP_DEB_VERSION"
		printf '  * Rebuild as %s.\n\n' "$WGP_DEB_VERSION"
		printf ' -- wgpilot developers <wgpilot@localhost>  %s\n\n' "$(LC_ALL=C date -R)"
		cat "$src/debian/changelog"
	} >"$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
fi

version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=wgpilot_${version}_${arch}.deb
# MAKEFLAGS of a calling make (jobserver, -k) are not for this build.
(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$(nproc)" \
	dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	echo "mkdeb.sh: dpkg-buildpackage failed; the whole log is in $work/build.log" >&2
	exit 1
}
mv -f "$work/$deb" "$out/$deb"
rm -rf "$work"
echo "$out/$deb"

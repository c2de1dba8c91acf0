#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The kernel backend (reconciler/nl-wg.c) and the real reconciler against
# real kernel WireGuard. The test machines' kernel has no WireGuard, so a
# Debian kernel, which ships wireguard.ko, boots under qemu (TCG, no KVM
# needed) with a busybox initramfs holding the module closure (per modinfo)
# of wireguard, veth and the nftables the reconciler's firewall needs, the
# guest's /init (t/kernel/init), and, with their shared libraries (the
# sanitizer runtimes too), t/kernel/kwg-test, wgpilot-reconciler, wgpilot
# and bench/gen-peers as built here. /init runs kwg-test (nl-wg.c directly),
# then t/kernel/rec-test (the daemon, a client namespace, a ping, restarts,
# 2,000 peers). Each one's TAP comes back over the serial console and is
# re-emitted here; also `make check-kernel`.
#
# The kernel, first found wins:
#   $WGP_TEST_KERNEL (a vmlinuz) with $WGP_TEST_MODULES (its /lib/modules/VER)
#   an installed Debian kernel: /boot/vmlinuz-VER with wireguard.ko in
#   /lib/modules/VER (apt-get install linux-image-amd64; nothing boots it)
#   $top_builddir/t/kernel-cache: the files of linux-image-amd64's image
#   package, fetched with `apt-get download` and extracted (not installed)
#   an installed PREEMPT_RT kernel (slow here, see pick_kernel)
# SKIP only when no kernel can be had; missing qemu or busybox also SKIP
# (CI needs qemu-system-x86, busybox-static, cpio and kmod; without an
# installed linux-image-amd64 the kernel is fetched as above).
set -euo pipefail

. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd -P)}/t/lib.sh"

[ "$(uname -m)" = x86_64 ] || skip_all "needs an x86_64 host: the guest runs kwg-test as built here"
PATH=$PATH:/usr/sbin:/sbin
need_cmd qemu-system-x86_64 busybox cpio gzip timeout ldd modinfo
# The guest's programs: /bin/NAME from the build tree.
declare -A GUEST_BIN=(
	[kwg-test]=$top_builddir/t/kernel/kwg-test
	[wgpilot-reconciler]=$top_builddir/reconciler/wgpilot-reconciler
	[wgpilot]=$top_builddir/wgpilot/wgpilot
	[gen-peers]=$top_builddir/bench/gen-peers
)
for b in "${GUEST_BIN[@]}"; do
	[ -x "$b" ] || bail_out "missing $b (make check builds it)"
done
# Loaded in this order with what each needs first. libcrc32c's "pre:
# crc32c" is a softdep on an alias, which modinfo's depends does not name.
GUEST_MODULES="wireguard veth crc32c_generic nf_tables nft_chain_nat nft_ct nft_masq"
CACHE=$top_builddir/t/kernel-cache
TIMEOUT=${WGP_KERNEL_TIMEOUT:-180}
MEM=${WGP_KERNEL_MEM:-512}      # MiB

# ---------------------------------------------------------------------------
# The kernel: sets VMLINUZ and MODDIR.

# has_modules MODDIR: wireguard.ko (compressed or not) is in MODDIR,
# and the other modules the guest needs are there or built in (a kernel
# cache extracted by an older version of this script lacks them).
has_modules() {
	local m
	compgen -G "$1/kernel/drivers/net/wireguard/wireguard.ko*" >/dev/null || return 1
	for m in veth nf_tables nft_chain_nat; do
		[ -n "$(find "$1/kernel" -name "$m.ko*" -print -quit 2>/dev/null)" ] ||
			grep -q "/$m\.ko" "$1/modules.builtin" 2>/dev/null || return 1
	done
}

# pick_kernel PREFIX [rt]: the newest PREFIX/boot/vmlinuz-VER whose modules
# are under PREFIX/lib/modules/VER or PREFIX/usr/lib/modules/VER; PREEMPT_RT
# kernels (-rt-) only with "rt": under TCG each synchronize_net() of theirs
# takes ~25 ms, so removing 2,000 peers one by one takes ~50 s, not 0.1 s.
pick_kernel() {
	local v ver m
	while read -r v; do
		ver=${v##*/vmlinuz-}
		[ "${2:-}" = rt ] || [[ $ver != *-rt-* ]] || continue
		for m in "$1/lib/modules/$ver" "$1/usr/lib/modules/$ver"; do
			if [ -r "$v" ] && has_modules "$m"; then
				VMLINUZ=$v
				MODDIR=$m
				return 0
			fi
		done
	done < <(compgen -G "$1/boot/vmlinuz-*" | sort -rV)
	return 1
}

# download_kernel: linux-image-amd64's image package into $CACHE, only the
# kernel, modules.builtin and the module directories the guest's modules
# live in (tar fails on a pattern that matches nothing; pick_kernel then
# judges the result).
download_kernel() {
	local pkg deb
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
	[ -n "$pkg" ] || return 1
	diag "fetching $pkg with apt-get download"
	mkdir -p "$CACHE/deb"
	(cd "$CACHE/deb" && apt-get download -q "$pkg") >&2 || return 1
	deb=$(compgen -G "$CACHE/deb/${pkg}_*.deb" | head -n 1)
	[ -n "$deb" ] || return 1
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$CACHE" --wildcards \
		'./boot/vmlinuz-*' '*/modules.builtin' '*/kernel/drivers/net/wireguard/*' \
		'*/kernel/drivers/net/veth.ko*' '*/kernel/net/ipv4/*' '*/kernel/net/ipv6/*' \
		'*/kernel/net/netfilter/*' '*/kernel/lib/*' '*/kernel/crypto/*' \
		'*/kernel/arch/x86/crypto/*' || true
	rm -f "$deb"
}

find_kernel() {
	if [ -n "${WGP_TEST_KERNEL:-}" ]; then
		VMLINUZ=$WGP_TEST_KERNEL
		MODDIR=${WGP_TEST_MODULES:?WGP_TEST_MODULES must name the modules of WGP_TEST_KERNEL}
		has_modules "$MODDIR" || bail_out "no wireguard.ko, veth.ko or nftables modules under $MODDIR"
		return 0
	fi
	pick_kernel "" || pick_kernel "$CACHE" || { download_kernel && pick_kernel "$CACHE"; } ||
		pick_kernel "" rt
}

# ---------------------------------------------------------------------------
# The initramfs

# module_order MODDIR NAME...: the modules NAME... need, dependencies first,
# as paths relative to MODDIR. Dependencies come from each file's modinfo
# (a package's files have no modules.dep); built-in ones (modules.builtin)
# need nothing.
module_order() {
	local moddir=$1 f n
	local -A file=() seen=()
	shift
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%%.ko*}
		file[${n//-/_}]=${f#"$moddir"/}
	done < <(find "$moddir/kernel" -name '*.ko*')
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%%.ko*}
		seen[${n//-/_}]=builtin
	done < <(cat "$moddir/modules.builtin" 2>/dev/null)
	_visit() {
		local m=${1//-/_} d
		[ -z "${seen[$m]:-}" ] || return 0
		seen[$m]=1
		[ -n "${file[$m]:-}" ] || { diag "no module $m under $moddir"; return 1; }
		for d in $(modinfo -F depends "$moddir/${file[$m]}" | tr ',' ' '); do
			_visit "$d" || return 1
		done
		echo "${file[$m]}"
	}
	for n in "$@"; do
		_visit "$n" || return 1
	done
}

# copy_bin SRC DEST: SRC at DEST in the image, with the shared libraries ldd
# lists for it at their own paths.
copy_bin() {
	local lib
	install -D -m 0755 "$1" "$ROOT$2"
	ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		[ -e "$ROOT$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$ROOT$lib"
	done
}

# unpack FILE: a module, decompressed, on stdout (the guest's insmod then
# needs no decompressor).
unpack() {
	case $1 in
	*.ko.xz) xz -dc "$1" 2>/dev/null || busybox xzcat "$1" ;;
	*.ko.zst) zstd -dcq "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

build_initrd() {
	local order rel name b
	ROOT=$WGP_TMP/root
	mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,run,lib/modules}
	copy_bin "$(command -v busybox)" /bin/busybox
	for b in "${!GUEST_BIN[@]}"; do
		copy_bin "${GUEST_BIN[$b]}" "/bin/$b"
	done
	install -m 0755 "$top_srcdir/t/kernel/init" "$ROOT/init"
	install -m 0755 "$top_srcdir/t/kernel/rec-test" "$ROOT/bin/rec-test"
	# shellcheck disable=SC2086 # a list of names
	order=$(module_order "$MODDIR" $GUEST_MODULES) || return 1
	for rel in $order; do
		name=$(basename "$rel")
		name=${name%%.ko*}.ko
		unpack "$MODDIR/$rel" >"$ROOT/lib/modules/$name" || return 1
		echo "$name" >>"$ROOT/lib/modules/order"
	done
	(cd "$ROOT" && find . | cpio -o -H newc --quiet) | gzip -1 >"$WGP_TMP/initrd.gz"
	MODULES=$(tr '\n' ' ' <"$ROOT/lib/modules/order")
}

# ---------------------------------------------------------------------------

if ! find_kernel; then
	skip_all "no Debian kernel with wireguard.ko: install linux-image-amd64 or allow apt-get download"
fi
mk_tmpdir
diag "kernel $VMLINUZ, modules $MODDIR"
if build_initrd; then
	pass "initramfs built ($(du -k "$WGP_TMP/initrd.gz" | cut -f1) KiB)"
	diag "modules, in load order: $MODULES"
else
	bail_out "could not build the initramfs"
fi

rc=0
t0=$(date +%s%N)
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -nographic -no-reboot -m "$MEM" -cpu max \
	-kernel "$VMLINUZ" -initrd "$WGP_TMP/initrd.gz" \
	-append 'console=ttyS0 panic=-1 quiet loglevel=1' \
	</dev/null >"$WGP_TMP/console.log" 2>&1 || rc=$?
elapsed=$((($(date +%s%N) - t0) / 1000000))
is "$rc" 0 "qemu exited by itself within ${TIMEOUT} s"
diag "boot, module load, tests and power-off under TCG: $((elapsed / 1000)).$((elapsed % 1000 / 100)) s"

# guest_tap TAG NAME: the guest's lines of one program (each prefixed with
# "TAG: " on the console), renumbered into ours.
guest_tap() {
	local tag=$1 name=$2 line plan='' ran=0 exit_line=''
	while IFS= read -r line; do
		case $line in
		"ok "*) ran=$((ran + 1)); pass "guest $name: $(sed -E 's/^ok [0-9]+( -)? ?//' <<<"$line")" ;;
		"not ok "*) ran=$((ran + 1)); fail "guest $name: $(sed -E 's/^not ok [0-9]+( -)? ?//' <<<"$line")" ;;
		1..*) plan=${line#1..} ;;
		"# $name exit "*) exit_line=$line ;;
		"#"*) printf '%s\n' "$line" ;;
		*) diag "guest $name: $line" ;;
		esac
	done < <(tr -d '\r' <"$WGP_TMP/console.log" | sed -n "s/^.*$tag: //p")
	is "$exit_line" "# $name exit 0" "$name exited 0"
	ok "the guest ran the whole plan of $name (${plan:-none} tests, $ran seen)" \
		test -n "$plan" -a "$ran" -gt 0 -a "${plan%% *}" = "$ran"
}
guest_tap KWG kwg-test
guest_tap REC rec-test
if [ "$TAP_FAILED" -ne 0 ]; then
	diag "last console lines:" "$(tr -d '\r' <"$WGP_TMP/console.log" | tail -n 40)"
fi
done_testing

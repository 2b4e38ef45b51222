#!/bin/bash
# The systemd lab of procexport's live tests: Debian's own systemd as PID 1 of a
# systemd-nspawn container, on a host whose PID 1 need not be systemd, so that generated unit
# files are started, killed, reloaded and stopped for real (tests/live_systemd.rs) and a user
# manager runs with lingering (tests/lab/systemd-user.sh). Needs root, systemd-container,
# debootstrap (for `prepare`) and bc; .ci/run installs them.
#
# Usage:
#   boot.sh prepare                  make the root filesystem once (debootstrap from Debian's
#                                    archive, about 70 s; a no-op when it is there)
#   boot.sh up NAME [UNITDIR]        boot container NAME (UNITDIR/* goes to /etc/systemd/system)
#                                    and wait until its systemd says running or degraded
#   boot.sh exec NAME CMD [ARGS...]  run CMD in all of the container's namespaces
#   boot.sh root NAME                print the host path of the container's / (/proc/PID/root)
#   boot.sh hostpid NAME PID         the host pid of the container's process PID
#   boot.sh down NAME [--kill]       halt it (--kill: SIGKILL its PID 1, faster), kill what is
#                                    left in its cgroups, remove its state directory
#
# Environment:
#   LAB_ROOTFS        the root filesystem (default /var/cache/procexport-tests/systemd-rootfs);
#                     LAB_ROOTFS=/ is host-root mode: an overlay of this machine's own root
#                     (its binaries, its users, the checkout's build), no `prepare` needed
#   LAB_MIRROR        the Debian archive for debootstrap (default: the first one in apt's sources)
#   LAB_STATE         where running containers keep their overlay and pids
#   LAB_BOOT_TIMEOUT  seconds `up` waits for the boot (default 30)
#   LAB_NSPAWN_ARGS   more systemd-nspawn arguments; LAB_INIT_ARGS: arguments of its systemd
#
# Nothing here acts on the host's own init: every command enters the container through
# `nsenter -t <its PID 1>`, and a container is halted by signalling the systemd-nspawn
# process this script started. The overlay is mounted in a private mount namespace, so it
# vanishes with the container.
set -euo pipefail

LAB_ROOTFS=${LAB_ROOTFS:-/var/cache/procexport-tests/systemd-rootfs}
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-30}
LAB_NSPAWN_ARGS=${LAB_NSPAWN_ARGS:-}
if [ "$LAB_ROOTFS" = / ]; then
    # The overlay's upper directory cannot live on the root it covers: /dev/shm. Boot to
    # basic.target only, so the host's enabled services are not started in the container.
    LAB_STATE=${LAB_STATE:-/dev/shm/procexport-lab}
    LAB_INIT_ARGS=${LAB_INIT_ARGS-systemd.unit=basic.target}
fi
LAB_STATE=${LAB_STATE:-/tmp/procexport-lab}
LAB_INIT_ARGS=${LAB_INIT_ARGS:-}

die() { echo "boot.sh: $*" >&2; exit 1; }
now() { date +%s.%N; }

# The Debian archive apt already uses here (deb822 "URIs:" or one-line "deb URI suite").
apt_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
               -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\)[[:space:]].*/\2/p' "$f"
    done | head -1
}

# The cgroup hierarchies a container gets a cgroup of its own in: the named systemd v1 one and
# the cgroup2 one of a hybrid host, or the one cgroup2 tree of a unified host.
cgroup_roots() {
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo /sys/fs/cgroup
    else
        local h
        for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
            if [ -d "$h" ]; then echo "$h"; fi
        done
    fi
}

cmd_prepare() {
    local root=$LAB_ROOTFS mirror
    case "$(readlink -m "$root")" in /|/usr|/etc|/lib|/bin|/sbin|/var|/root|/tmp|/home)
        die "refusing to prepare '$root', a host path (LAB_ROOTFS=/ needs no prepare)";; esac
    if [ ! -x "$root/lib/systemd/systemd" ]; then
        mirror=${LAB_MIRROR:-$(apt_mirror)}
        [ -n "$mirror" ] || die "no Debian archive in apt's sources: set LAB_MIRROR (e.g. http://deb.debian.org/debian)"
        command -v debootstrap >/dev/null ||
            die "no debootstrap: apt-get install --no-install-recommends debootstrap systemd-container"
        rm -rf "$root"
        # shellcheck disable=SC1091 # the host's release names the suite
        debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps \
            "$(. /etc/os-release && echo "$VERSION_CODENAME")" "$root" "$mirror"
    fi
    # A fast, non-interactive boot: multi-user, no getty, no first-boot prompt (it would block
    # the boot), no timers.
    ln -sfn /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
    local unit
    for unit in systemd-firstboot.service getty@tty1.service console-getty.service \
        container-getty@.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
        e2scrub_all.timer fstrim.timer e2scrub_reap.service systemd-pstore.service; do
        ln -sfn /dev/null "$root/etc/systemd/system/$unit"
    done
    rm -rf "$root/etc/systemd/system/getty.target.wants" "$root/etc/systemd/system/timers.target.wants"
    # A machine id: no "first boot".
    [ -s "$root/etc/machine-id" ] || systemd-id128 new >"$root/etc/machine-id"
    echo systemd-lab >"$root/etc/hostname"
    echo "rootfs ready: $root ($(du -sh "$root" | cut -f1))"
}

state_dir() { echo "$LAB_STATE/$1"; }

# A process that exists and is not a zombie (the host's init may reap orphans late).
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

load_info() {
    local state; state=$(state_dir "$1")
    [ -f "$state/info" ] || die "container '$1' is not up (no $state/info)"
    # shellcheck disable=SC1091
    . "$state/info"
    alive "$LEADER_PID" || die "container '$1': its PID 1 ($LEADER_PID) is gone"
}

# All of the container's namespaces: mount, uts, ipc, net, pid, cgroup; its root and cwd.
in_ct() {
    local leader=$1; shift
    nsenter -t "$leader" -m -u -i -n -p -C -r -w "$@"
}

cmd_up() {
    local name=${1:?NAME} unitdir=${2:-}
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$ ]] || die "bad NAME '$name': letters, digits, _ and -, at most 31"
    [ -x "$LAB_ROOTFS/lib/systemd/systemd" ] || die "no root filesystem at $LAB_ROOTFS: run $0 prepare"
    local state; state=$(state_dir "$name")
    [ -e "$state" ] && die "$state exists (is $name up? $0 down $name)"
    mkdir -p "$state/upper/etc/systemd/system" "$state/work" "$state/root"
    if [ -n "$unitdir" ]; then
        [ -d "$unitdir" ] || die "no such unit directory $unitdir"
        cp -a "$unitdir/." "$state/upper/etc/systemd/system/"
    fi
    # A cgroup of its own in each hierarchy: systemd-nspawn --keep-unit puts payload and
    # supervisor under it, not at the root where two containers would collide.
    local roots h
    roots=$(cgroup_roots)
    [ -n "$roots" ] || die "no cgroup hierarchy under /sys/fs/cgroup"
    for h in $roots; do mkdir -p "$h/procexport-lab/$name"; done

    local t0; t0=$(now)
    # shellcheck disable=SC2086,SC2016 # word lists; the inner script expands its own $1..
    setsid unshare --mount --propagation private /bin/sh -c '
        state=$1; name=$2; rootfs=$3; roots=$4; shift 4
        for h in $roots; do echo $$ > "$h/procexport-lab/$name/cgroup.procs"; done
        mkdir -p /run/systemd/nspawn && mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
        mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$state/upper,workdir=$state/work" "$state/root"
        echo $$ > "$state/nspawn.pid"
        exec systemd-nspawn -q -D "$state/root" -M "$name" --boot \
            --register=no --keep-unit --link-journal=no --console=read-only "$@"
    ' sh "$state" "$name" "$LAB_ROOTFS" "$roots" $LAB_NSPAWN_ARGS ${LAB_INIT_ARGS:+-- $LAB_INIT_ARGS} \
        </dev/null >"$state/console.log" 2>&1 &

    local deadline nspawn="" leader="" st="" child
    deadline=$(echo "$(now) + $LAB_BOOT_TIMEOUT" | bc)
    while [ "$(echo "$(now) < $deadline" | bc)" = 1 ]; do
        [ -z "$nspawn" ] && [ -s "$state/nspawn.pid" ] && nspawn=$(cat "$state/nspawn.pid")
        if [ -n "$nspawn" ]; then
            alive "$nspawn" || { cat "$state/console.log" >&2; die "systemd-nspawn exited"; }
            if [ -z "$leader" ]; then
                # shellcheck disable=SC2013 # the file is one line of pids
                for child in $(cat "/proc/$nspawn/task/$nspawn/children" 2>/dev/null); do
                    if [ "$(readlink "/proc/$child/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] &&
                       [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then leader=$child; fi
                done
            fi
            if [ -n "$leader" ]; then
                st=$(timeout 10 nsenter -t "$leader" -m -u -i -n -p -C -r -w \
                        systemctl is-system-running --wait 2>/dev/null || true)
                case "$st" in running|degraded) break;; esac
            fi
        fi
        sleep 0.05
    done
    case "$st" in running|degraded) ;; *)
        cat "$state/console.log" >&2; die "boot of $name timed out (state '$st')";; esac
    cat >"$state/info" <<EOF
NAME=$name
NSPAWN_PID=$nspawn
LEADER_PID=$leader
ROOT=/proc/$leader/root
STATE=$state
BOOT_SECONDS=$(printf %.2f "$(echo "$(now) - $t0" | bc)")
SYSTEM_STATE=$st
EOF
    cat "$state/info"
}

cmd_exec() {
    local name=${1:?NAME}; shift
    load_info "$name"
    in_ct "$LEADER_PID" "$@"
}

cmd_root() { load_info "${1:?NAME}"; echo "/proc/$LEADER_PID/root"; }

cmd_hostpid() {
    local name=${1:?NAME} pid=${2:?PID} ns d n
    load_info "$name"
    ns=$(readlink "/proc/$LEADER_PID/ns/pid")
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/ns/pid" 2>/dev/null)" = "$ns" ] || continue
        n=$(awk '/^NSpid:/{print $NF}' "$d/status" 2>/dev/null) || continue
        [ "$n" = "$pid" ] && { echo "${d#/proc/}"; return 0; }
    done
    return 1
}

# Removes an empty cgroup tree, deepest first.
rm_cgroup_tree() {
    [ -d "$1" ] || return 0
    find "$1" -depth -type d -exec rmdir {} \; 2>/dev/null || true
}

cmd_down() {
    local name=${1:?NAME} mode=${2:-} state NSPAWN_PID="" LEADER_PID="" h p
    state=$(state_dir "$name")
    [ -s "$state/nspawn.pid" ] && NSPAWN_PID=$(cat "$state/nspawn.pid")
    # shellcheck disable=SC1091
    [ -f "$state/info" ] && . "$state/info"
    if [ -n "$NSPAWN_PID" ] && alive "$NSPAWN_PID" &&
       grep -q systemd-nspawn "/proc/$NSPAWN_PID/cmdline" 2>/dev/null; then
        if [ "$mode" = --kill ] && [ -n "$LEADER_PID" ]; then
            kill -KILL "$LEADER_PID" 2>/dev/null || true   # the kernel ends its pid namespace
        else
            kill -TERM "$NSPAWN_PID"    # nspawn asks the container's systemd for a clean halt
        fi
        for _ in $(seq 1 400); do alive "$NSPAWN_PID" || break; sleep 0.025; done
        if alive "$NSPAWN_PID"; then
            if [ -n "$LEADER_PID" ]; then kill -KILL "$LEADER_PID" 2>/dev/null || true; fi
            kill -KILL "$NSPAWN_PID" 2>/dev/null || true
            sleep 0.2
        fi
    fi
    # Whatever is left in this container's cgroups (its own, nothing else) is killed.
    for h in $(cgroup_roots); do
        [ -d "$h/procexport-lab/$name" ] || continue
        while read -r p; do
            if [ -n "$p" ]; then kill -KILL "$p" 2>/dev/null || true; fi
        done < <(find "$h/procexport-lab/$name" -name cgroup.procs -exec cat {} + 2>/dev/null)
    done
    for h in $(cgroup_roots); do
        for _ in $(seq 1 40); do
            rm_cgroup_tree "$h/procexport-lab/$name"
            [ -d "$h/procexport-lab/$name" ] || break
            sleep 0.05
        done
        [ -d "$h/procexport-lab/$name" ] && echo "boot.sh: could not remove $h/procexport-lab/$name" >&2
        rmdir "$h/procexport-lab" 2>/dev/null || true
    done
    if mountpoint -q "$state/root" 2>/dev/null; then umount -l "$state/root" || true; fi
    rm -rf "$state"
    rmdir "$LAB_STATE" 2>/dev/null || true
}

[ "$(id -u)" = 0 ] || die "must run as root"
sub=${1:-}
shift || true
case "$sub" in
    prepare) cmd_prepare "$@" ;;
    up) cmd_up "$@" ;;
    exec) cmd_exec "$@" ;;
    root) cmd_root "$@" ;;
    hostpid) cmd_hostpid "$@" ;;
    down) cmd_down "$@" ;;
    *) sed -n '2,27p' "$0" >&2; exit 2 ;;
esac

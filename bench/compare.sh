#!/usr/bin/env bash
# Time procexport against the physical floor (bench/floor.c writing the same tree and making
# it durable), `foreman export`, `honcho export`, the upstart-exporter gem (when its source is
# given) and `tar -x` of procexport's own output tree, on the same Procfiles, for every
# backend: fresh on disk, the fixed part (start-up, dry run, unchanged re-export), re-export
# unchanged and changed, tmpfs, 2,000 and 5,000 jobs, unrelated dirty data, peak RSS and
# system-call counts. With
# BENCH_OLD_REV, also an older procexport built from that revision.
# See bench/README.md. Installs nothing unless --setup is given.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: bench/compare.sh [--setup] [--no-build] [-h|--help]

  --setup     install the prerequisites first (as root: apt-get install ruby-foreman time
              strace python3 tar; pip install 'honcho[export]==2.0.0'; useradd pxbench)
  --no-build  do not run `cargo build --release`; use the binary already built

Environment (all optional):
  PROCEXPORT=PATH          benchmark this binary instead of building the repo's
  BENCH_OLD_REV=REV        also time procexport built from git revision REV (git archive
                           into a temp dir, cargo build --release there)
  PROCEXPORT_OLD=PATH      ... or this already built older binary
  BENCH_GEM_DIR=DIR        the upstart-exporter gem's source (lib/, bin/upstart-export);
                           run as `ruby -I DIR/lib DIR/bin/upstart-export`. It only reads
                           /etc/upstart-exporter.yaml, which the benchmark then overwrites.
  CARGO_TARGET_DIR         where cargo builds (default: <repo>/target)
  BENCH_BACKENDS           default: every backend ("upstart systemd runit supervisord sysv
                           openrc launchd systemd-user")
  BENCH_SCENARIOS          default "fresh fixed unchanged changed tmpfs large dirty rss syscalls"
  BENCH_FLOOR_MODE         how the floor makes its tree durable (default syncfs; also fsync,
                           sfr, thr, none: see bench/floor.c); the atomic mode is
                           always timed beside it as floor-atomic
  BENCH_ROUNDS             rounds of the 5-process sets (default 15)
  BENCH_SEED               seed of the order of the tools in each round (default 1)
  BENCH_LARGE_JOBS         large apps (default "2000 5000"); BENCH_ROUNDS_LARGE (default 3)
  BENCH_DIRTY_MB           unrelated dirty data levels (default "0 16 64 256")
  BENCH_DIRTY_ROUNDS       (default 5); BENCH_DIRTY_BACKEND (default upstart; a list is
                           allowed); BENCH_DIRTY_TOOLS (default: every tool)
  BENCH_USER               run_user/-u for every tool (default pxbench)
  BENCH_RESULTS=DIR        keep the report (Markdown) in DIR
  TMPDIR                   where the Procfiles and output trees go (its filesystem is what
                           is measured); /dev/shm is used for the tmpfs set when present
USAGE
}

setup=0
build=1
for arg in "$@"; do
	case $arg in
	--setup) setup=1 ;;
	--no-build) build=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		printf 'compare.sh: unknown argument %s\n\n' "$arg" >&2
		usage >&2
		exit 2
		;;
	esac
done

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(cd -- "$here/.." && pwd -P)
run_user=${BENCH_USER:-pxbench}
honcho_pin='honcho[export]==2.0.0'

if ((setup)); then
	if ((EUID != 0)); then
		echo 'compare.sh: --setup needs root' >&2
		exit 1
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y ruby-foreman time strace python3 tar
	python3 -m pip install "$honcho_pin"
	getent passwd "$run_user" >/dev/null ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$run_user"
fi

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1  ->  $2"); }
need foreman 'apt-get install ruby-foreman'
need honcho "pip install '$honcho_pin'"
need python3 'apt-get install python3'
need tar 'apt-get install tar'
need strace 'apt-get install strace'
need cc 'apt-get install gcc'
if [[ -z ${PROCEXPORT:-} ]] && ((build)); then need cargo 'install Rust with rustup'; fi
if ! { [[ -x /usr/bin/time ]] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; }; then
	missing+=('/usr/bin/time (GNU)  ->  apt-get install time')
fi
if ! getent passwd "$run_user" >/dev/null; then
	missing+=("user $run_user  ->  useradd --system --no-create-home --shell /usr/sbin/nologin $run_user")
fi
if ((${#missing[@]})); then
	echo 'compare.sh: missing prerequisites (or run: bench/compare.sh --setup, as root):' >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
# honcho 2 exports only with its Jinja2 extra: check it, not just the command.
real_bin() {
	local path
	path=$(command -v "$1")
	case $path in
	*/.pyenv/shims/*) pyenv which "$1" 2>/dev/null || printf '%s\n' "$path" ;;
	*/.rbenv/shims/*) rbenv which "$1" 2>/dev/null || printf '%s\n' "$path" ;;
	*) printf '%s\n' "$path" ;;
	esac
}
foreman_bin=$(real_bin foreman)
honcho_bin=$(real_bin honcho)
honcho_python=$(head -n1 "$honcho_bin" | sed 's/^#!//')
if ! $honcho_python -c 'import jinja2' 2>/dev/null; then
	echo "compare.sh: honcho has no Jinja2, so it cannot export: pip install '$honcho_pin'" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/procexport-bench.XXXXXX")
shm=
if [[ -d /dev/shm && -w /dev/shm ]]; then shm=$(mktemp -d /dev/shm/procexport-bench.XXXXXX); fi
cleanup() { rm -rf -- "$work" ${shm:+"$shm"}; }
trap cleanup EXIT
chmod 755 "$work" ${shm:+"$shm"}

if [[ -n ${PROCEXPORT:-} ]]; then
	px=$PROCEXPORT
else
	if ((build)); then
		echo "building procexport (cargo build --release) in $repo" >&2
		(cd "$repo" && cargo build --release --bin procexport >&2)
	fi
	target_dir=${CARGO_TARGET_DIR:-target}
	[[ $target_dir == /* ]] || target_dir=$repo/$target_dir
	px=$target_dir/release/procexport
fi
[[ -x $px ]] || {
	printf 'compare.sh: no procexport binary at %s\n' "$px" >&2
	exit 1
}

px_old=${PROCEXPORT_OLD:-}
if [[ -z $px_old && -n ${BENCH_OLD_REV:-} ]]; then
	old_src=$work/old-src
	mkdir "$old_src"
	git -C "$repo" archive "$BENCH_OLD_REV" | tar -x -C "$old_src"
	echo "building procexport $BENCH_OLD_REV in $old_src" >&2
	(cd "$old_src" && CARGO_TARGET_DIR=$old_src/target cargo build --release --bin procexport >&2)
	px_old=$old_src/target/release/procexport
fi

git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $git_rev != unknown ]] && [[ -n $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	git_rev="$git_rev+dirty"
fi

gem_backup=
if [[ -n ${BENCH_GEM_DIR:-} && -e /etc/upstart-exporter.yaml ]]; then
	gem_backup=$work/upstart-exporter.yaml.orig
	cp -p /etc/upstart-exporter.yaml "$gem_backup"
	trap 'cp -p "$gem_backup" /etc/upstart-exporter.yaml; cleanup' EXIT
fi

# The floor: the same tree written by a small C program and made durable (bench/floor.c).
cc -O2 -pthread -o "$work/floor.built" "$here/floor.c"

# Every timed program runs from a copy made here with cp, as a package manager would install
# it: a binary the linker has just written sits in the page cache in small pieces, and
# procexport started 0.2-0.5 ms slower from target/release than from a copy of the same
# bytes (interleaved, 250 runs each, on a 2-core VM).
bin=$work/bin
mkdir "$bin"
px_source=$px
cp "$px" "$bin/procexport"
px=$bin/procexport
if [[ -n $px_old ]]; then
	px_old_source=$px_old
	cp "$px_old" "$bin/procexport-old"
	px_old=$bin/procexport-old
fi
cp "$work/floor.built" "$bin/floor"
floor=$bin/floor

BENCH_PX=$px BENCH_PX_SOURCE=$px_source BENCH_PX_OLD_SOURCE=${px_old_source:-} BENCH_FLOOR=$floor BENCH_PX_OLD=$px_old BENCH_OLD_REV=${BENCH_OLD_REV:-${PROCEXPORT_OLD:-}} \
	BENCH_FOREMAN=$foreman_bin BENCH_HONCHO=$honcho_bin BENCH_WORK=$work BENCH_SHM=$shm \
	BENCH_GROUP=$(id -gn "$run_user") BENCH_GIT_REV=$git_rev \
	python3 "$here/compare.py"

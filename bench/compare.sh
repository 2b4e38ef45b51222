#!/usr/bin/env bash
# Time procexport against `foreman export` and `honcho export` on the same Procfiles,
# for upstart, systemd and runit, on a 5-process app and a 2,000-job app, with `tar -x`
# of procexport's own output tree as the floor; measure procexport's peak RSS; print ratios.
# See bench/README.md. Installs nothing unless --setup is given.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/compare.sh [--setup] [--no-build] [-h|--help]

  --setup     install the prerequisites first (as root: apt-get install hyperfine
              ruby-foreman time; pip install honcho; useradd --system pxbench)
  --no-build  do not run `cargo build --release`; use the binary already built

Environment (all optional):
  PROCEXPORT=PATH          benchmark this binary instead of building the repo's
  CARGO_TARGET_DIR         where cargo builds (default: <repo>/target)
  BENCH_BACKENDS           default "upstart systemd runit"
  BENCH_LARGE_JOBS         jobs in the large app (default 2000)
  BENCH_WARMUP             hyperfine --warmup (default 2)
  BENCH_MIN_RUNS_SMALL     hyperfine --min-runs for the 5-process app (default 10)
  BENCH_RUNS_LARGE         hyperfine --runs for the large app (default 3)
  BENCH_RSS_RUNS           /usr/bin/time runs for the 5-process RSS figure, max kept (default 3)
  BENCH_USER               run_user/-u for every tool (default pxbench)
  BENCH_RESULTS=DIR        keep the hyperfine JSON files and the table in DIR
  TMPDIR                   where the Procfiles and output trees go (its filesystem matters:
                           procexport fsyncs every file it installs, the others do not)
EOF
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

backends=${BENCH_BACKENDS:-upstart systemd runit}
large_jobs=${BENCH_LARGE_JOBS:-2000}
warmup=${BENCH_WARMUP:-2}
min_runs_small=${BENCH_MIN_RUNS_SMALL:-10}
runs_large=${BENCH_RUNS_LARGE:-3}
rss_runs=${BENCH_RSS_RUNS:-3}
run_user=${BENCH_USER:-pxbench}
results_dir=${BENCH_RESULTS:-}

for pair in "BENCH_LARGE_JOBS=$large_jobs" "BENCH_WARMUP=$warmup" \
	"BENCH_MIN_RUNS_SMALL=$min_runs_small" "BENCH_RUNS_LARGE=$runs_large" "BENCH_RSS_RUNS=$rss_runs"; do
	if ! [[ ${pair#*=} =~ ^[0-9]+$ ]]; then
		printf 'compare.sh: %s is not a whole number\n' "$pair" >&2
		exit 2
	fi
done
if ((large_jobs < 6 || large_jobs > 10000 || runs_large < 2 || min_runs_small < 2 || rss_runs < 1)); then
	echo 'compare.sh: need BENCH_LARGE_JOBS 6-10000, BENCH_RUNS_LARGE >= 2, BENCH_MIN_RUNS_SMALL >= 2, BENCH_RSS_RUNS >= 1' >&2
	exit 2
fi
for b in $backends; do
	case $b in
	upstart | systemd | runit) ;;
	*)
		printf 'compare.sh: unknown backend %s in BENCH_BACKENDS\n' "$b" >&2
		exit 2
		;;
	esac
done

# ---------------------------------------------------------------- prerequisites

if ((setup)); then
	if ((EUID != 0)); then
		echo 'compare.sh: --setup needs root' >&2
		exit 1
	fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y hyperfine ruby-foreman time python3 tar
	command -v honcho >/dev/null 2>&1 || python3 -m pip install honcho
	getent passwd "$run_user" >/dev/null ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$run_user"
fi

missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1  ->  $2"); }
need hyperfine 'apt-get install hyperfine'
need foreman 'apt-get install ruby-foreman'
need honcho 'pip install honcho'
need python3 'apt-get install python3'
need tar 'apt-get install tar'
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
run_group=$(id -gn "$run_user")

# A pyenv/rbenv shim costs tens of ms per call: time the real program behind it.
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

# ---------------------------------------------------------------- build

if [[ -n ${PROCEXPORT:-} ]]; then
	px=$PROCEXPORT
else
	if ((build)); then
		echo "building procexport (cargo build --release) in $repo"
		(cd "$repo" && cargo build --release --bin procexport)
	fi
	target_dir=${CARGO_TARGET_DIR:-target}
	[[ $target_dir == /* ]] || target_dir=$repo/$target_dir
	px=$target_dir/release/procexport
fi
if [[ ! -x $px ]]; then
	printf 'compare.sh: no procexport binary at %s\n' "$px" >&2
	exit 1
fi

# ---------------------------------------------------------------- work dir

work=$(mktemp -d "${TMPDIR:-/tmp}/procexport-bench.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
cd "$work"
umask 022
mkdir json logs out rss log
chmod 755 log # the log dir handed to foreman and honcho (-l); they only write its name

# The config must be owned by root or the running user and writable by no one else.
printf 'run_user: %s\nrun_group: %s\n' "$run_user" "$run_group" >procexport.yaml

# Both apps are Procfile v1 files read by all three tools. One label = one job everywhere:
# procexport has no concurrency setting for v1, foreman gets -m all=1 and honcho runs one of
# each by default, so each tool renders 5 and $large_jobs jobs.
mkdir app5 "app$large_jobs"
cat >app5/Procfile <<'EOF'
web: bundle exec puma -C config/puma.rb -p $PORT
worker: RAILS_ENV=production bundle exec sidekiq -C config/sidekiq.yml -q default -q low
clock: bundle exec clockwork config/clock.rb
mailer: bundle exec rake jobs:work QUEUE=mailers
search: cd vendor/search && exec ./bin/indexer --interval 30 --batch 500
EOF
for ((i = 0; i < large_jobs; i++)); do
	printf 'p%04d: bundle exec rake jobs:work QUEUE=q%04d\n' "$i" "$i"
done >"app$large_jobs/Procfile"
sizes=(5 "$large_jobs")

# POSIX single quotes, for the command lines hyperfine hands to /bin/sh.
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# The command line of one export: tool, backend, size, output dir.
export_cmd() {
	local tool=$1 backend=$2 size=$3 out=$4 procfile=$work/app$3/Procfile
	case $tool in
	procexport)
		printf '%s --root %s --config %s %s -p %s -n app' "$(q "$px")" "$(q "$out")" \
			"$(q "$work/procexport.yaml")" "$backend" "$(q "$procfile")"
		;;
	foreman)
		printf '%s export %s %s -f %s -a app -u %s -d /srv/app -l %s -e /dev/null -m all=1' \
			"$(q "$foreman_bin")" "$backend" "$(q "$out")" "$(q "$procfile")" "$(q "$run_user")" \
			"$(q "$work/log")"
		;;
	honcho)
		# -d is the jobs' working directory and where a relative -f is looked up: -f absolute.
		printf '%s export -f %s -a app -u %s -d /srv/app -l %s -e /dev/null %s %s' \
			"$(q "$honcho_bin")" "$(q "$procfile")" "$(q "$run_user")" "$(q "$work/log")" \
			"$backend" "$(q "$out")"
		;;
	esac
}

count_files() { find "$1" ! -type d | wc -l; }

# results.tsv: kind tool backend size files json status
: >results.tsv
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>results.tsv; }
skipped=()

# ---------------------------------------------------------------- header

git_rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $git_rev != unknown ]] && [[ -n $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	git_rev="$git_rev+dirty"
fi
fs_type=$(df -PT "$work" | awk 'NR==2 {print $2}')
echo "procexport  $px ($git_rev)"
echo "foreman     $foreman_bin $("$foreman_bin" version 2>/dev/null | head -n1)"
echo "honcho      $honcho_bin $("$honcho_bin" --version 2>&1 | head -n1)"
echo "$(hyperfine --version), $(nproc) cores, work dir $work on $fs_type"
echo "apps: 5 processes and $large_jobs labels, one job per label for every tool; warmup $warmup," \
	"min-runs $min_runs_small (5), runs $runs_large ($large_jobs)"
echo

# ---------------------------------------------------------------- preflight

# One untimed export per tool and backend on the small app: a tool or backend that fails
# here is skipped with a message instead of aborting the benchmark.
declare -A ok=()
for backend in $backends; do
	for tool in procexport foreman honcho; do
		out=$work/out/pre-$tool-$backend
		if bash -c "$(export_cmd "$tool" "$backend" 5 "$out")" </dev/null >"logs/pre-$tool-$backend.log" 2>&1; then
			ok[$tool-$backend]=1
		else
			why=$(grep -m1 . "logs/pre-$tool-$backend.log" || true)
			if [[ $tool == procexport ]]; then
				msg="skipped: procexport $backend not available ($why)"
			else
				msg="skipped: $tool export $backend failed ($why)"
			fi
			echo "$msg"
			skipped+=("$msg")
			for size in "${sizes[@]}"; do record export "$tool" "$backend" "$size" - - skipped; done
		fi
		rm -rf -- "$out"
	done
done

# ---------------------------------------------------------------- timing

mean_line() {
	python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['mean'] * 1000:10.1f} ms ± {r['stddev'] * 1000 if r['stddev'] is not None else 0:.1f}  ({len(r['times'])} runs)")
PY
}

# bench NAME JSON PREPARE COMMAND RUN-COUNT-ARGS...
bench() {
	local name=$1 json=$2 prepare=$3 cmd=$4
	shift 4
	printf '  %-34s' "$name"
	if hyperfine --style none --warmup "$warmup" "$@" --export-json "$json" \
		--prepare "$prepare" --command-name "$name" "$cmd" </dev/null >"logs/$name.log" 2>&1; then
		mean_line "$json"
	else
		echo "   FAILED, see below"
		sed 's/^/    /' "logs/$name.log" | tail -n 5
		return 1
	fi
}

echo "timing (mean of the runs; every run writes into an output dir wiped by --prepare)"
for size in "${sizes[@]}"; do
	if ((size == 5)); then runs=(--min-runs "$min_runs_small"); else runs=(--runs "$runs_large"); fi
	for backend in $backends; do
		for tool in procexport foreman honcho; do
			[[ -n ${ok[$tool-$backend]:-} ]] || continue
			out=$work/out/$size-$tool-$backend
			json=$work/json/$size-$tool-$backend.json
			if bench "$tool $backend $size" "$json" "rm -rf $(q "$out")" \
				"$(export_cmd "$tool" "$backend" "$size" "$out")" "${runs[@]}"; then
				record export "$tool" "$backend" "$size" "$(count_files "$out")" "$json" ok
			else
				record export "$tool" "$backend" "$size" - - failed
				continue
			fi
			# The floor: unpack procexport's own large output tree (left by its last run).
			if [[ $tool == procexport ]] && ((size == large_jobs)); then
				tar -C "$out" -cf "$work/out/tree-$backend.tar" .
				dest=$work/out/untar-$backend
				if bench "tar -xf $backend $size" "$work/json/$size-tar-$backend.json" \
					"rm -rf $(q "$dest") && mkdir $(q "$dest")" \
					"tar -xf $(q "$work/out/tree-$backend.tar") -C $(q "$dest")" "${runs[@]}"; then
					record floor tar "$backend" "$size" "$(count_files "$dest")" \
						"$work/json/$size-tar-$backend.json" ok
				fi
				rm -rf -- "$dest"
			fi
			rm -rf -- "$out"
		done
	done
done

# ---------------------------------------------------------------- peak RSS

echo
echo "peak RSS of procexport (/usr/bin/time -f %M; max of $rss_runs runs for the 5-process app, 1 run for $large_jobs jobs)"
: >rss.tsv
for backend in $backends; do
	[[ -n ${ok[procexport-$backend]:-} ]] || continue
	for size in "${sizes[@]}"; do
		out=$work/out/rss
		max=0
		n=$rss_runs
		((size == 5)) || n=1 # a large export is slow and its peak barely varies
		for ((r = 0; r < n; r++)); do
			rm -rf -- "$out"
			if ! bash -c "/usr/bin/time -f %M -o $(q "$work/rss/kb") $(export_cmd procexport "$backend" "$size" "$out")" \
				</dev/null >/dev/null 2>"logs/rss.log"; then
				max=-1
				break
			fi
			kb=$(tail -n1 rss/kb)
			((kb > max)) && max=$kb
		done
		rm -rf -- "$out"
		printf '  procexport %-8s %5s jobs  %s\n' "$backend" "$size" \
			"$(if ((max < 0)); then echo failed; else echo "$max KB"; fi)"
		printf '%s\t%s\t%s\n' "$backend" "$size" "$max" >>rss.tsv
	done
done

# ---------------------------------------------------------------- report

echo
python3 - "$work/results.tsv" "$work/rss.tsv" "$large_jobs" "$backends" <<'PY' | tee "$work/table.txt"
import json, sys

results_path, rss_path, large, backs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
rows, mean = [], {}
for line in open(results_path):
    kind, tool, backend, size, files, js, status = line.rstrip("\n").split("\t")
    m = sd = None
    if status == "ok":
        r = json.load(open(js))["results"][0]
        m, sd = r["mean"] * 1000, (r["stddev"] or 0) * 1000
        mean[(tool, backend, size)] = m
    rows.append((kind, tool, backend, size, files, m, sd, status))

order = {"procexport": 0, "foreman": 1, "honcho": 2, "tar": 3}
rows.sort(key=lambda r: (int(r[3]), backs.index(r[2]), order[r[1]]))

def app(size):
    return "5-process" if size == "5" else f"{size} jobs"

print("ratio = this row's mean / procexport's mean for the same backend and app (> 1: slower than procexport)")
print(f"{'tool':<11}{'backend':<9}{'app':<11}{'files':>7}{'mean ms':>11}{'± ms':>9}  ratio vs procexport")
for kind, tool, backend, size, files, m, sd, status in rows:
    name = "tar -xf" if tool == "tar" else tool
    if m is None:
        print(f"{name:<11}{backend:<9}{app(size):<11}{'-':>7}{status:>11}")
        continue
    px = mean.get(("procexport", backend, size))
    ratio = f"{m / px:.2f}x" if px else "n/a"
    print(f"{name:<11}{backend:<9}{app(size):<11}{files:>7}{m:>11.1f}{sd:>9.1f}  {ratio}")

def verdict(good):
    return "PASS" if good else "FAIL"

print()
print("targets")
for backend in backs:
    px = mean.get(("procexport", backend, "5"))
    if px is None:
        print(f"  {backend}: procexport not timed")
        continue
    for tool in ("foreman", "honcho"):
        t = mean.get((tool, backend, "5"))
        if t is not None:
            print(f"  {backend:<8} 5-process  procexport {t / px:7.1f}x faster than {tool:<8} (target >= 30x)  {verdict(t / px >= 30)}")
    pxl, tar = mean.get(("procexport", backend, large)), mean.get(("tar", backend, large))
    if pxl is not None and tar is not None:
        print(f"  {backend:<8} {large} jobs  procexport / tar -xf floor = {pxl / tar:7.2f}x (target <= 2x)    {verdict(pxl / tar <= 2)}")
for line in open(rss_path):
    backend, size, kb = line.split()
    kb = int(kb)
    if kb < 0:
        print(f"  {backend:<8} {app(size):<10} procexport peak RSS: failed")
    else:
        mb = kb * 1024 / 1e6
        print(f"  {backend:<8} {app(size):<10} procexport peak RSS {mb:6.1f} MB ({kb} KiB) (target < 20 MB)  {verdict(mb < 20)}")
PY

for msg in "${skipped[@]}"; do echo "$msg"; done

if [[ -n $results_dir ]]; then
	mkdir -p -- "$results_dir"
	cp -- json/*.json table.txt results.tsv rss.tsv "$results_dir"/ 2>/dev/null || true
	echo "results kept in $results_dir"
fi

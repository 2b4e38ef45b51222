#!/usr/bin/env python3
"""The timing harness of bench/compare.sh (see bench/README.md); run through compare.sh.

The headline is each export's ratio to the physical floor: bench/floor.c writing the same tree
(the same files, modes, directories and links) and making it durable.

Every timed run writes into a directory of its own, made (empty) before the clock starts and
never deleted while a set runs; the disk is synced before each timed run, so that no run pays
for the data another tool left unflushed; tools are interleaved within each round, in an order
shuffled anew each round (seeded, so a run can be repeated); each set reports the median, min and max, and each tool's ratio to
procexport is the median (min-max) of the ratios paired within a round.
"""

import mmap
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time

E = os.environ


def env_int(name, default):
    value = E.get(name, str(default))
    if not value.isdigit():
        sys.exit(f"compare: {name}={value} is not a whole number")
    return int(value)


PX = E["BENCH_PX"]
PX_OLD = E.get("BENCH_PX_OLD") or None
FLOOR = E.get("BENCH_FLOOR") or None
FLOOR_MODE = E.get("BENCH_FLOOR_MODE", "syncfs")
OLD_REV = E.get("BENCH_OLD_REV", "")
FOREMAN = E.get("BENCH_FOREMAN") or None
HONCHO = E.get("BENCH_HONCHO") or None
GEM_DIR = E.get("BENCH_GEM_DIR") or None
RUN_USER = E.get("BENCH_USER", "pxbench")
RUN_GROUP = E.get("BENCH_GROUP", RUN_USER)
WORK = E["BENCH_WORK"]
SHM = E.get("BENCH_SHM") or None
BACKENDS = E.get(
    "BENCH_BACKENDS", "upstart systemd runit supervisord sysv openrc launchd systemd-user"
).split()
ROUNDS = env_int("BENCH_ROUNDS", 15)
ROUNDS_LARGE = env_int("BENCH_ROUNDS_LARGE", 3)
LARGE = [int(n) for n in E.get("BENCH_LARGE_JOBS", "2000 5000").split()]
DIRTY_MB = [int(n) for n in E.get("BENCH_DIRTY_MB", "0 16 64 256").split()]
DIRTY_ROUNDS = env_int("BENCH_DIRTY_ROUNDS", 5)
DIRTY_BACKENDS = E.get("BENCH_DIRTY_BACKEND", "upstart").split()
DIRTY_TOOLS = E.get("BENCH_DIRTY_TOOLS", "").split()
SCENARIOS = E.get(
    "BENCH_SCENARIOS", "fresh fixed unchanged changed tmpfs large dirty rss syscalls"
).split()
GIT_REV = E.get("BENCH_GIT_REV", "unknown")

notes = []
out_lines = []


def say(line=""):
    print(line, flush=True)
    out_lines.append(line)


# ------------------------------------------------------------------ apps

APP5 = """web: bundle exec puma -C config/puma.rb -p $PORT
worker: RAILS_ENV=production bundle exec sidekiq -C config/sidekiq.yml -q default -q low
clock: bundle exec clockwork config/clock.rb
mailer: bundle exec rake jobs:work QUEUE=mailers
search: cd vendor/search && exec ./bin/indexer --interval 30 --batch 500
"""


# A large app is TYPES process types run size / TYPES times each (the formation): every tool
# numbers PORT as base + 100 x the type's place + the instance, so 2,000 types would need
# ports past 65535, which procexport refuses.
TYPES = 20


def formation(size):
    """How many of each type, the same for every tool, written out (honcho has no `all=`)."""
    if size == 5:
        return ",".join(f"{line.split(':')[0]}=1" for line in APP5.splitlines())
    return ",".join(f"p{i:02d}={size // TYPES}" for i in range(TYPES))


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def procfile(size, variant="a"):
    """The Procfile of `size` jobs; variant "b" changes every command."""
    path = f"{WORK}/apps/{size}{variant}/Procfile"
    if os.path.exists(path):
        return path
    if size == 5:
        text = APP5
    else:
        text = "".join(
            f"p{i:02d}: bundle exec rake jobs:work QUEUE=q{i:02d}\n" for i in range(TYPES)
        )
    if variant == "b":
        text = text.replace("bundle exec", "bundle exec --verbose")
    return write(path, text)


# max_jobs: the 5,000-job app is above the default bound of 2,000 jobs per app.
CONFIG = write(f"{WORK}/procexport.yaml",
               f"run_user: {RUN_USER}\nrun_group: {RUN_GROUP}\nmax_jobs: 10000\n")
LOG = f"{WORK}/log"
os.makedirs(LOG, exist_ok=True)
os.chmod(LOG, 0o755)

# ------------------------------------------------------------------ tools

TARBALLS = {}


def argv(tool, backend, size, out, variant="a"):
    pf = procfile(size, variant)
    if tool in ("procexport", "procexport-old"):
        binary = PX if tool == "procexport" else PX_OLD
        return [binary, "--root", out, "--config", CONFIG, backend, "-p", pf, "-n", "app",
                "-m", formation(size)]
    if tool == "foreman":
        return [FOREMAN, "export", backend, out, "-f", pf, "-a", "app", "-u", RUN_USER,
                "-d", "/srv/app", "-l", LOG, "-e", "/dev/null", "-m", formation(size)]
    if tool == "honcho":
        return [HONCHO, "export", "-f", pf, "-a", "app", "-u", RUN_USER, "-d", "/srv/app",
                "-l", LOG, "-e", "/dev/null", "-c", formation(size), backend, out]
    if tool == "tar":
        return ["tar", "-xf", tarball(backend, size, variant), "-C", out]
    if tool == "floor":
        return [FLOOR, tree(backend, size, variant), out, FLOOR_MODE]
    if tool == "floor-atomic":
        # The same tree with procexport's guarantee: temp names, a flush, renames, a flush.
        return [FLOOR, tree(backend, size, variant), out, "atomic"]
    if tool == "gem":
        # The gem reads only /etc/upstart-exporter.yaml: gem_config() points it at `out`.
        return ["ruby", "-I", f"{GEM_DIR}/lib", f"{GEM_DIR}/bin/upstart-export", "-p", pf,
                "-n", "app"]
    raise ValueError(tool)


def gem_config(out):
    write("/etc/upstart-exporter.yaml",
          f"upstart_dir: {out}/etc/init/\nhelper_dir: {out}/var/local/upstart_helpers/\n"
          f"run_user: {RUN_USER}\nrun_group: {RUN_GROUP}\nprefix: fb-\n")
    os.makedirs(f"{out}/etc/init", exist_ok=True)
    os.makedirs(f"{out}/var/local/upstart_helpers", exist_ok=True)


TREES = {}


def tree(backend, size, variant):
    """procexport's own output tree for this app, exported once: what the floor copies."""
    key = (backend, size, variant)
    if key not in TREES:
        path = f"{WORK}/trees/{backend}-{size}{variant}"
        os.makedirs(path)
        run(argv("procexport", backend, size, path, variant))
        TREES[key] = path
    return TREES[key]


def tarball(backend, size, variant):
    """A tar of procexport's own output tree for this app (tar -x, without a flush)."""
    key = (backend, size, variant)
    if key not in TARBALLS:
        path = f"{WORK}/trees/{backend}-{size}{variant}.tar"
        run(["tar", "-C", tree(backend, size, variant), "-cf", path, "."])
        TARBALLS[key] = path
    return TARBALLS[key]


def run(args):
    done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} exited {done.returncode}: {done.stderr.strip()[:300]}")


def timed(args):
    start = time.perf_counter_ns()
    done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} exited {done.returncode}: {done.stderr.strip()[:300]}")
    return elapsed


def count_files(path):
    return sum(len(files) + sum(1 for d in dirs if os.path.islink(os.path.join(root, d)))
               for root, dirs, files in os.walk(path))


def available(backend):
    """The tools that export this backend here (one untimed run each), with file counts."""
    tools = {}
    wanted = ["procexport", "procexport-old", "floor", "floor-atomic", "foreman", "honcho", "gem",
              "tar"]
    for tool in wanted:
        if tool in ("floor", "floor-atomic") and not FLOOR:
            continue
        if tool == "procexport-old" and not PX_OLD:
            continue
        if tool == "foreman" and not FOREMAN or tool == "honcho" and not HONCHO:
            continue
        if tool == "gem" and (backend != "upstart" or not GEM_DIR):
            continue
        out = f"{WORK}/preflight/{backend}-{tool}"
        os.makedirs(out)
        try:
            if tool == "gem":
                gem_config(out)
            run(argv(tool, backend, 5, out))
            tools[tool] = count_files(out)
        except RuntimeError as error:
            notes.append(f"skipped: {tool} {backend} ({error})")
    return tools


# ------------------------------------------------------------------ sets

counter = [0]


def fresh_dir(base):
    counter[0] += 1
    path = f"{base}/{counter[0]:06d}"
    os.makedirs(path)
    return path


# The order of the tools within a round. A rotating order keeps each tool behind the same
# neighbour, so one tool always paid for another's unflushed writes; a shuffle does not.
ORDER = random.Random(env_int("BENCH_SEED", 1))


def run_set(tools, rounds, run_one, sync_first=True):
    """`run_one(tool, round)` -> ms, for every tool in every round, in a shuffled order.

    With `sync_first`, the disk is synced (untimed) before each run: foreman, honcho and tar
    leave their trees unflushed, and the next run's flush would otherwise write them.
    """
    times = {tool: [] for tool in tools}
    paired = []
    for r in range(rounds):
        order = list(tools)
        ORDER.shuffle(order)
        this = {}
        for tool in order:
            if sync_first:
                os.sync()
            this[tool] = run_one(tool, r)
            times[tool].append(this[tool])
        paired.append(this)
    return times, paired


def stats(values):
    return statistics.median(values), min(values), max(values)


def ratio_text(tool, paired):
    if tool == "procexport" or "procexport" not in paired[0]:
        return ""
    ratios = [p[tool] / p["procexport"] for p in paired]
    m, lo, hi = stats(ratios)
    return f"{m:.2f}x ({lo:.2f}-{hi:.2f})"


def floor_text(tool, paired):
    """The headline: this tool's time over the floor's, paired within each round."""
    if "floor" not in paired[0] or tool == "floor":
        return ""
    ratios = [p[tool] / p["floor"] for p in paired]
    m, lo, hi = stats(ratios)
    return f"**{m:.2f}x** ({lo:.2f}-{hi:.2f})"


def table(title, rows):
    """rows: (backend, jobs, tool, files, times, paired)"""
    say(f"### {title}")
    say()
    say("| backend | jobs | tool | files | median ms | min ms | max ms | runs |"
        " tool / floor, paired: median (min-max) | tool / procexport, paired |")
    say("|---|---:|---|---:|---:|---:|---:|---:|---|---|")
    for backend, jobs, tool, files, times, paired in rows:
        m, lo, hi = stats(times)
        say(f"| {backend} | {jobs} | {tool} | {files} | {m:.1f} | {lo:.1f} | {hi:.1f} |"
            f" {len(times)} | {floor_text(tool, paired)} | {ratio_text(tool, paired)} |")
    say()


results = {}  # (scenario, backend, jobs) -> (times, paired)


def scenario_fresh(name, base_root, sizes, rounds):
    rows = []
    for size in sizes:
        for backend in BACKENDS:
            tools = [t for t in TOOLS[backend]]
            base = f"{base_root}/{name}/{backend}-{size}"
            os.makedirs(base, exist_ok=True)
            if "tar" in tools:
                tarball(backend, size, "a")

            def one(tool, r):
                out = fresh_dir(base)
                if tool == "gem":
                    gem_config(out)
                return timed(argv(tool, backend, size, out))

            times, paired = run_set(tools, rounds, one)
            results[(name, backend, size)] = (times, paired)
            for tool in tools:
                files = TOOLS[backend][tool] if size == 5 else "-"
                rows.append((backend, size, tool, files, times[tool], paired))
    return rows


def scenario_reexport(name, changed):
    rows = []
    for backend in BACKENDS:
        # The floor and tar write a new tree: a re-export has no counterpart in them.
        tools = [t for t in TOOLS[backend] if t not in ("floor", "floor-atomic", "tar")]
        outs = {}
        for tool in tools:
            outs[tool] = fresh_dir(f"{WORK}/{name}/{backend}")
            if tool == "gem":
                gem_config(outs[tool])
            run(argv(tool, backend, 5, outs[tool], "a"))

        def one(tool, r):
            variant = ("b" if r % 2 == 0 else "a") if changed else "a"
            if tool == "gem":
                gem_config(outs[tool])
            return timed(argv(tool, backend, 5, outs[tool], variant))

        times, paired = run_set(tools, ROUNDS, one)
        results[(name, backend, 5)] = (times, paired)
        for tool in tools:
            rows.append((backend, 5, tool, TOOLS[backend][tool], times[tool], paired))
    return rows


def scenario_fixed():
    """The fixed part: `--version` (start-up alone) beside a dry run and an unchanged
    re-export of the installed 5-process app, interleaved, with the difference of medians."""
    say("### The fixed part, 5 processes: start-up, dry run, unchanged re-export")
    say()
    say("| backend | --version ms | dry run ms | unchanged ms | dry run - version |"
        " unchanged - version | page faults: version / dry / unchanged |")
    say("|---|---:|---:|---:|---:|---:|---:|")
    for backend in BACKENDS:
        out = fresh_dir(f"{WORK}/fixed/{backend}")
        run(argv("procexport", backend, 5, out))
        export = argv("procexport", backend, 5, out)
        commands = {
            "version": [PX, "--version"],
            "dry": export[:1] + ["--dry-run"] + export[1:],
            "unchanged": export,
        }
        times, _ = run_set(list(commands), ROUNDS, lambda t, r: timed(commands[t]))
        v, d, u = (statistics.median(times[k]) for k in ("version", "dry", "unchanged"))
        results[("fixed", backend)] = (v, d, u)
        faults = " / ".join(str(minor_faults(commands[k])) for k in ("version", "dry", "unchanged"))
        say(f"| {backend} | {v:.2f} | {d:.2f} | {u:.2f} | {d - v:+.2f} | {u - v:+.2f} |"
            f" {faults} |")
    say()


def minor_faults(args):
    """The page faults of one run of `args` (GNU time's %R): most of a start-up's cost."""
    done = subprocess.run(["/usr/bin/time", "-f", "%R", "-o", "/dev/stderr", *args],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    return int(done.stderr.strip().splitlines()[-1])


def fault_cost_us(pages=8192):
    """What the first touch of an anonymous page costs on this host, in microseconds (a
    second pass over the same pages, which faults no more, is taken off): the fixed part of
    an export is largely page faults, and hosts differ by several times in their price."""
    region = mmap.mmap(-1, pages * 4096)
    passes = []
    for _ in range(2):
        start = time.perf_counter_ns()
        for offset in range(0, pages * 4096, 4096):
            region[offset] = 1
        passes.append(time.perf_counter_ns() - start)
    region.close()
    return (passes[0] - passes[1]) / pages / 1000


def meminfo_dirty_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Dirty:"):
                return int(line.split()[1])
    return -1


def scenario_dirty(backend):
    if backend not in TOOLS:
        notes.append(f"dirty-data scenario skipped: backend {backend} not benchmarked")
        return
    tools = [t for t in TOOLS[backend] if not DIRTY_TOOLS or t in DIRTY_TOOLS]
    dirty_file = f"{WORK}/dirty.bin"
    say(f"### Unrelated dirty data ({backend}, 5 processes, fresh directory per run)")
    say()
    say("Before every run: the previous dirty file removed, `sync`, then `dd` of N MB of"
        " zeros to a new file on the same filesystem, not synced (Dirty: from /proc/meminfo"
        " just before the run, median). The clock covers the export only.")
    say()
    say("| dirty MB | Dirty kB | tool | median ms | min ms | max ms | runs |"
        " tool / procexport, paired |")
    say("|---:|---:|---|---:|---:|---:|---:|---|")
    for mb in DIRTY_MB:
        dirty_seen = []
        base = f"{WORK}/dirty/{backend}/{mb}"
        os.makedirs(base)

        def one(tool, r):
            if os.path.exists(dirty_file):
                os.unlink(dirty_file)
            subprocess.run(["sync"], check=True)
            if mb:
                subprocess.run(["dd", "if=/dev/zero", f"of={dirty_file}", "bs=1M",
                                f"count={mb}", "status=none"], check=True)
            out = fresh_dir(base)
            if tool == "gem":
                gem_config(out)
            dirty_seen.append(meminfo_dirty_kb())
            return timed(argv(tool, backend, 5, out))

        times, paired = run_set(tools, DIRTY_ROUNDS, one, sync_first=False)
        results[("dirty", backend, mb)] = (times, paired)
        for tool in tools:
            m, lo, hi = stats(times[tool])
            say(f"| {mb} | {statistics.median(dirty_seen)} | {tool} | {m:.1f} | {lo:.1f} |"
                f" {hi:.1f} | {len(times[tool])} | {ratio_text(tool, paired)} |")
    if os.path.exists(dirty_file):
        os.unlink(dirty_file)
    subprocess.run(["sync"], check=True)
    say()


def scenario_rss():
    say("### Peak RSS (`/usr/bin/time -f %M`, fresh directory on disk; max of 3 runs at 5"
        " processes, 1 run above)")
    say()
    tools = ["procexport"] + (["procexport-old"] if PX_OLD else [])
    say("| backend | jobs | " + " | ".join(f"{t} MB" for t in tools) + " |")
    say("|---|---:|" + "---:|" * len(tools))
    for backend in BACKENDS:
        for size in [5] + LARGE:
            cells = []
            for tool in tools:
                peak = 0
                for _ in range(3 if size == 5 else 1):
                    out = fresh_dir(f"{WORK}/rss")
                    kb_file = f"{WORK}/rss.kb"
                    run(["/usr/bin/time", "-f", "%M", "-o", kb_file]
                        + argv(tool, backend, size, out))
                    with open(kb_file) as f:
                        peak = max(peak, int(f.read().split()[-1]))
                cells.append(f"{peak * 1024 / 1e6:.1f}")
                results[("rss", backend, size, tool)] = peak
            say(f"| {backend} | {size} | " + " | ".join(cells) + " |")
    say()
    if not LARGE:
        return
    size = max(LARGE)
    say(f"### Peak RSS of a re-export, {size} jobs (`/usr/bin/time -f %M`, 1 run each): the"
        " app installed fresh, then exported again unchanged, then with every command changed")
    say()
    say("| backend | jobs | " + " | ".join(f"{t} unchanged MB | {t} changed MB" for t in tools)
        + " |")
    say("|---|---:|" + "---:|" * 2 * len(tools))
    for backend in BACKENDS:
        cells = []
        for tool in tools:
            out = fresh_dir(f"{WORK}/rss")
            run(argv(tool, backend, size, out))
            for kind, variant in (("unchanged", "a"), ("changed", "b")):
                kb_file = f"{WORK}/rss.kb"
                run(["/usr/bin/time", "-f", "%M", "-o", kb_file]
                    + argv(tool, backend, size, out, variant))
                with open(kb_file) as f:
                    peak = int(f.read().split()[-1])
                cells.append(f"{peak * 1024 / 1e6:.1f}")
                results[("rss-" + kind, backend, size, tool)] = peak
        say(f"| {backend} | {size} | " + " | ".join(cells) + " |")
    say()


def strace_counts(args):
    path = f"{WORK}/strace.txt"
    run(["strace", "-f", "-c", "-o", path] + args)
    calls = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit():
                calls[parts[-1]] = int(parts[3])
            elif parts and parts[-1] == "total":
                calls["total"] = int(parts[3])
    return calls


def scenario_syscalls():
    if not shutil.which("strace"):
        notes.append("syscall counts skipped: no strace (apt-get install strace)")
        return
    say("### System calls per export (`strace -f -c`, fresh directory; threads included)")
    say()
    tools = ["procexport"] + (["procexport-old"] if PX_OLD else [])
    say("| backend | jobs | tool | all calls | per job | fsync | syncfs | openat | mkdirat |"
        " fstat | clone3 |")
    say("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend in BACKENDS:
        for size in [5, 2000]:
            for tool in tools:
                out = fresh_dir(f"{WORK}/strace")
                c = strace_counts(argv(tool, backend, size, out))
                get = lambda k: c.get(k, 0)  # noqa: E731
                say(f"| {backend} | {size} | {tool} | {get('total')} |"
                    f" {get('total') / size:.1f} | {get('fsync')} | {get('syncfs')} |"
                    f" {get('openat')} | {get('mkdirat')} |"
                    f" {get('fstat') + get('newfstatat') + get('statx')} | {get('clone3')} |")
    say()


def targets():
    say("### Targets")
    say()

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    for backend in BACKENDS:
        for size in [5] + LARGE:
            got = results.get(("fresh", backend, size)) or results.get(("large", backend, size))
            if not got:
                continue
            times, paired = got
            if "floor" in times:
                r = statistics.median(p["procexport"] / p["floor"] for p in paired)
                goal = 1.5 if size == 5 else 2.0
                say(f"- {backend}, {size} jobs, fresh on disk: procexport / floor = {r:.2f}x"
                    f" (target <= {goal}x): {verdict(r <= goal)}")
            if "floor-atomic" in times:
                r = statistics.median(p["procexport"] / p["floor-atomic"] for p in paired)
                say(f"- {backend}, {size} jobs, fresh on disk: procexport / floor-atomic ="
                    f" {r:.2f}x (the floor with procexport's guarantee; no target)")
            for tool in ("foreman", "honcho", "gem"):
                if tool in times:
                    r = statistics.median(p[tool] / p["procexport"] for p in paired)
                    say(f"- {backend}, {size} jobs, fresh on disk: procexport {r:.2f}x as fast"
                        f" as {tool} (target >= 1x): {verdict(r >= 1)}")
        fixed = results.get(("fixed", backend))
        if fixed:
            v, d, u = fixed
            say(f"- {backend}: dry run {d - v:+.2f} ms, unchanged re-export {u - v:+.2f} ms"
                f" over --version (target <= 1 ms): {verdict(max(d, u) - v <= 1)}")
    for backend in DIRTY_BACKENDS:
        clean = results.get(("dirty", backend, 0))
        dirty = results.get(("dirty", backend, max(DIRTY_MB)))
        if clean and dirty and max(DIRTY_MB):
            r = statistics.median(dirty[0]["procexport"]) / statistics.median(
                clean[0]["procexport"])
            say(f"- {backend}, {max(DIRTY_MB)} MB of unrelated dirty data: {r:.2f}x its clean"
                f" time (target <= 2x): {verdict(r <= 2)}")
    for backend in BACKENDS:
        for size in [5] + LARGE:
            kb = results.get(("rss", backend, size, "procexport"))
            if kb:
                mb = kb * 1024 / 1e6
                say(f"- {backend}, {size} jobs: peak RSS {mb:.1f} MB (target < 20 MB):"
                    f" {verdict(mb < 20)}")
            for kind in ("unchanged", "changed"):
                kb = results.get(("rss-" + kind, backend, size, "procexport"))
                if kb:
                    mb = kb * 1024 / 1e6
                    say(f"- {backend}, {size} jobs, {kind} re-export: peak RSS {mb:.1f} MB"
                        f" (target < 20 MB): {verdict(mb < 20)}")
    say()


# ------------------------------------------------------------------ main


def header():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])

    def fs_of(path):
        df = subprocess.run(["df", "-PT", path], capture_output=True, text=True).stdout
        fields = df.splitlines()[1].split()
        dev, fstype, mount = fields[0], fields[1], fields[-1]
        opts = ""
        with open("/proc/mounts") as m:
            for line in m:
                parts = line.split()
                if parts[1] == mount and parts[2] == fstype:
                    opts = parts[3]
        return f"{fstype} on {dev} at {mount} ({opts})"

    def version(args):
        try:
            done = subprocess.run(args, capture_output=True, text=True)
            return (done.stdout + done.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    say(f"- machine: {os.cpu_count()} CPUs ({cpu}), {mem_kb / 1048576:.0f} GiB RAM,"
        f" Linux {platform.release()}")
    say(f"- work dir {WORK}: {fs_of(WORK)}")
    if SHM:
        say(f"- tmpfs dir {SHM}: {fs_of(SHM)}")
    say(f"- procexport {GIT_REV} ({PX}, a copy of {E.get('BENCH_PX_SOURCE', PX)})")
    if FLOOR:
        say(f"- floor: bench/floor.c, mode {FLOOR_MODE} ({FLOOR})")
    if PX_OLD:
        say(f"- procexport-old: {OLD_REV} ({PX_OLD}, a copy of {E.get('BENCH_PX_OLD_SOURCE') or PX_OLD})")
    if FOREMAN:
        say(f"- foreman {version([FOREMAN, 'version'])}")
    if HONCHO:
        say(f"- honcho {version([HONCHO, '--version'])}")
    say(f"- tar: {version(['tar', '--version'])}; python {platform.python_version()}")
    say(f"- load average at start: {open('/proc/loadavg').read().split()[:3]}")
    say(f"- a page fault (first touch of an anonymous page): {fault_cost_us():.2f} us")
    say(f"- rounds: {ROUNDS} (5 processes), {ROUNDS_LARGE} ({', '.join(map(str, LARGE))} jobs),"
        f" {DIRTY_ROUNDS} (dirty data)")
    say(f"- order: shuffled each round (seed {env_int('BENCH_SEED', 1)}); the disk synced,"
        " untimed, before every timed run")
    say()


def main():
    global TOOLS
    header()
    if not GEM_DIR:
        notes.append("skipped: the upstart-exporter gem (no source: set BENCH_GEM_DIR to a"
                     " checkout with lib/ and bin/upstart-export)")
    TOOLS = {backend: available(backend) for backend in BACKENDS}
    for backend in list(TOOLS):
        if "procexport" not in TOOLS[backend]:
            notes.append(f"skipped: backend {backend} (procexport failed)")
            del TOOLS[backend]
    for note in notes:
        say(f"- {note}")
    say()
    started = time.time()
    if "fresh" in SCENARIOS:
        table("Fresh on disk, 5 processes (new directory per run)",
              scenario_fresh("fresh", WORK, [5], ROUNDS))
    if "fixed" in SCENARIOS:
        scenario_fixed()
    if "unchanged" in SCENARIOS:
        table("Re-export, unchanged (same Procfile into the same directory)",
              scenario_reexport("unchanged", False))
    if "changed" in SCENARIOS:
        table("Re-export, changed (every command changes each run, same directory)",
              scenario_reexport("changed", True))
    if "tmpfs" in SCENARIOS and SHM:
        table(f"Fresh on tmpfs ({SHM}), 5 processes",
              scenario_fresh("tmpfs", SHM, [5], ROUNDS))
    if "large" in SCENARIOS:
        for size in LARGE:
            table(f"Fresh on disk, {size} jobs",
                  scenario_fresh("large", WORK, [size], ROUNDS_LARGE))
    if "dirty" in SCENARIOS:
        for backend in DIRTY_BACKENDS:
            scenario_dirty(backend)
    if "rss" in SCENARIOS:
        scenario_rss()
    if "syscalls" in SCENARIOS:
        scenario_syscalls()
    targets()
    say(f"- load average at end: {open('/proc/loadavg').read().split()[:3]};"
        f" {time.time() - started:.0f} s")
    results_dir = E.get("BENCH_RESULTS")
    if results_dir:
        os.makedirs(results_dir, exist_ok=True)
        write(f"{results_dir}/report.md", "\n".join(out_lines) + "\n")


main()

#!/usr/bin/env bash
# CI (as root, after check-deb.sh): runs the README's install, first-setup and first-export
# commands exactly as written, in the order written, on a throwaway copy of this machine: a
# private mount namespace whose /etc, /usr, /var, /srv, /home, /root, /run and the checkout
# are overlays on tmpfs, so every package, user, config, sudoers rule, job and build they make
# vanishes at the end.
#
# A block runs when the line before its ```sh fence is `<!-- check-readme: WHO -->`: WHO is
# `user` (the one running this, for builds), `root`, or `deploy` (a user made here, who gets
# sudo through the README's own sudoers rule, as a deploy user would). Blocks without the
# marker (starting jobs needs a running init) are not run. Each block runs with `bash -e`.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "check-readme: must run as root" >&2; exit 1; }

if [ "${1:-}" != --inside ]; then
    scratch=$(mktemp -d)
    status=0
    unshare --mount --propagation private -- bash "$0" --inside "$scratch" || status=$?
    rmdir "$scratch"
    exit "$status"
fi

checkout=$PWD
scratch=$2
mount -t tmpfs -o mode=0700 check-readme "$scratch"
overlay() {
    local layer
    layer="$scratch/layers/$(echo "$1" | tr / _)"
    mkdir -p "$layer/upper" "$layer/work"
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$layer/upper,workdir=$layer/work" "$1"
}
for dir in /etc /usr /var /srv /home /root /run; do
    if [ -d "$dir" ]; then overlay "$dir"; fi
done
# The blocks build in the checkout too (target/): that goes on an overlay as well.
case "$checkout/" in
    /etc/* | /usr/* | /var/* | /srv/* | /home/* | /root/* | /run/*) ;;
    *) overlay "$checkout" ;;
esac
cd "$checkout"

fail() { echo "check-readme: $*" >&2; exit 1; }
if ! command -v sudo >/dev/null; then
    apt-get install -y -qq --no-install-recommends sudo >/dev/null
fi
id deploy >/dev/null 2>&1 || useradd --create-home --shell /bin/bash deploy
install -d -o deploy -g deploy /srv/myapp /srv/myapp/current
install -m 0644 -o deploy -g deploy examples/Procfile /srv/myapp/current/Procfile
# shellcheck source=.ci/cargo-env
source .ci/cargo-env
# The README's paths are the checkout's target/, even when .ci/run builds elsewhere (sudo).
unset CARGO_TARGET_DIR

# The marked blocks, each as "WHO<TAB>LINE-NUMBER" then its lines, separated by NUL.
blocks=$(mktemp -p "$scratch")
awk '
    /^<!-- check-readme: (user|root|deploy) -->$/ { who = $3; next }
    who != "" && /^```sh$/ { printf "%s\t%d\n", who, NR; inside = 1; next }
    inside && /^```$/ { printf "%c", 0; inside = 0; who = ""; next }
    inside { print; next }
    { who = "" }
' README.md >"$blocks"

ran=0
while IFS= read -r -d '' block; do
    header=${block%%$'\n'*}
    body=${block#*$'\n'}
    who=${header%%$'\t'*}
    line=${header#*$'\t'}
    echo "check-readme: README.md:$line, as $who:"
    awk '{ print "    " $0 }' <<<"$body"
    case $who in
        user | root) (cd "$checkout" && bash -e -c "$body") ;;
        deploy) (cd /srv/myapp/current && runuser -u deploy -- env -i HOME=/home/deploy \
            USER=deploy LOGNAME=deploy PATH=/usr/local/bin:/usr/bin:/bin bash -e -c "$body") ;;
    esac || fail "README.md:$line: the block failed"
    ran=$((ran + 1))

    # What the blocks say they do, checked after the one that does it.
    if grep -q '^sudo dpkg -i ' <<<"$body"; then
        [ "$(dpkg-query -W -f='${Status}' procexport)" = "install ok installed" ] || fail "not installed"
    fi
    if grep -q '/usr/local/bin/procexport$' <<<"$body"; then
        [ "$(stat -c %U:%a /usr/local/bin/procexport)" = root:755 ] || fail "/usr/local/bin/procexport"
        MANPATH=/usr/local/share/man man -w procexport | grep -q '^/usr/local/share/man/man1/' \
            || fail "man does not find /usr/local/share/man/man1/procexport.1.gz"
        # The two routes are alternatives: the deploy user's rule names the package's binary,
        # and sudo would find this one first.
        rm /usr/local/bin/procexport
    fi
    if grep -q '^sudo procexport systemd -p' <<<"$body"; then
        [ "$(stat -c %U /etc/systemd/system/fb-myapp.target)" = root ] || fail "no fb-myapp.target"
        [ -L /etc/systemd/system/multi-user.target.wants/fb-myapp.target ] || fail "not enabled"
        [ "$(stat -c %U /var/log/fb-myapp)" = myapp ] || fail "/var/log/fb-myapp is not myapp's"
        grep -q '^User=myapp$' /etc/systemd/system/fb-myapp-web_0.service || fail "the job's User="
    fi
    if grep -q '^sudo procexport clean' <<<"$body"; then
        if compgen -G '/etc/systemd/system/fb-myapp*' >/dev/null; then fail "clean left files"; fi
    fi
done <"$blocks"
[ "$ran" -ge 6 ] || fail "only $ran marked blocks in README.md"
echo "check-readme: $ran passed, 0 failed"

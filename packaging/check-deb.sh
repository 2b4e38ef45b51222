#!/usr/bin/env bash
# CI (as root): build the .deb, install it, use it for one export, remove it, purge it, and
# check each step: the files land where Debian keeps them, `man procexport` renders, the bash
# completion registers, the export goes under a throwaway --root, `dpkg -r` leaves none of
# the package's files, and purge removes the state directory only while it lists no jobs.
# Then check-readme.sh runs the README's install and first-export commands with the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "check-deb: $*" >&2; exit 1; }
step() { echo "check-deb: $*"; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs and removes the package)"
# shellcheck source=.ci/cargo-env
source .ci/cargo-env   # cargo, also through sudo
if dpkg-query -W -f='${Status}' procexport 2>/dev/null | grep -q 'installed'; then
    fail "procexport is already installed here; this check installs and removes it: dpkg -P procexport first"
fi
if ! command -v man >/dev/null; then
    apt-get install -y -qq --no-install-recommends man-db >/dev/null
fi

deb=$(bash packaging/build-deb.sh)
step "built $deb ($(stat -c %s "$deb") bytes)"
# Its description names every init it exports to, and it suggests what loads its completion.
description=$(dpkg-deb -f "$deb" Description)
for init in Upstart systemd systemd-user runit supervisord SysV OpenRC launchd Kubernetes; do
    [[ $description == *"$init"* ]] || fail "the package's description does not name $init"
done
wanted=$(printf '%s,%s' "$(dpkg-deb -f "$deb" Suggests)" "$(dpkg-deb -f "$deb" Recommends)" | tr -d ' ')
[[ ,$wanted, == *,bash-completion,* ]] ||
    fail "the package neither suggests nor recommends bash-completion, which loads its completion"
step "its description names every init; it suggests bash-completion"

STATE_DIR=/var/lib/procexport
# A state directory from before (`dpkg -r procexport` keeps it, as the README says) is set
# aside while the package is installed, removed and purged here, and put back at the end. One
# that still lists jobs is refused: those jobs need it to be cleaned.
if [ -e "$STATE_DIR" ] || [ -L "$STATE_DIR" ]; then
    manifests=$(find "$STATE_DIR" -name '*.manifest' 2>/dev/null | head -n 3)
    [ -z "$manifests" ] || fail "$STATE_DIR lists installed jobs (${manifests//$'\n'/, }): \
remove them with 'procexport clean -n APP' first, or, if those jobs are gone, remove the \
directory: rm -r $STATE_DIR"
    if [ ! -d "$STATE_DIR" ] || [ -L "$STATE_DIR" ]; then
        fail "$STATE_DIR is not a directory: remove it (rm $STATE_DIR) and run this again"
    fi
fi
saved=""
work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    if dpkg-query -W procexport >/dev/null 2>&1; then dpkg -P procexport >/dev/null 2>&1 || true; fi
    if [ -n "$saved" ]; then
        # What this check made in its place goes; the one from before comes back.
        rm -rf "$STATE_DIR"
        mv "$saved/procexport" "$STATE_DIR"
        rmdir "$saved"
        echo "check-deb: put back $STATE_DIR as it was"
    fi
}
trap cleanup EXIT
if [ -d "$STATE_DIR" ]; then
    saved=$(mktemp -d /var/lib/.procexport-check-deb.XXXXXX)
    mv "$STATE_DIR" "$saved/procexport"
    step "set aside $STATE_DIR (it lists no jobs) until the end of this check"
fi

# Which of the package's paths exist before it is installed (/usr, /usr/share/man/man1, ...).
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; s|/$||' | grep -v '^$' >"$work/paths"
while read -r path; do
    if [ -e "$path" ]; then echo "$path"; fi
done <"$work/paths" >"$work/before"

# Docker-style images exclude man pages from dpkg; this check needs the package's.
dpkg --path-include='/usr/share/man/*' -i "$deb" >/dev/null
step "installed: $(dpkg-query -W -f='${Package} ${Version} ${Status}' procexport)"

version=$(procexport --version)
[[ $version == "procexport $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"* ]] \
    || fail "unexpected --version: $version"
step "$(command -v procexport): $version"
# The older tools' names are links to the binary, which answers under each with its own version.
for name in /usr/bin/upstart-export /usr/sbin/init-exporter; do
    if [ ! -L "$name" ] || [ "$(readlink -f "$name")" != "$(readlink -f "$(command -v procexport)")" ]; then
        fail "$name is not a link to procexport"
    fi
done
[[ $(/usr/sbin/init-exporter -v) == "procexport "* ]] || fail "init-exporter -v: $(/usr/sbin/init-exporter -v 2>&1)"
step "links: /usr/bin/upstart-export, /usr/sbin/init-exporter"
[ "$(stat -c %a:%U:%G "$STATE_DIR")" = 755:root:root ] || fail "$STATE_DIR is not root:root 0755"
# The example config is documentation: no conffile, nothing under /etc that changes behaviour.
[ -z "$(dpkg-query -W -f='${Conffiles}' procexport)" ] || fail "the package has conffiles"
if dpkg -L procexport | grep -q '^/etc'; then fail "the package installs files under /etc"; fi

MANPAGER=cat MANWIDTH=80 man procexport >"$work/man1" 2>"$work/man1.err" || fail "man procexport: $(cat "$work/man1.err")"
grep -q 'procexport - Turn a Procfile' "$work/man1" || fail "man procexport does not render its NAME"
grep -q 'EXIT STATUS' "$work/man1" || fail "man procexport has no EXIT STATUS"
MANPAGER=cat MANWIDTH=80 man 5 procexport.yaml >"$work/man5" 2>/dev/null || fail "man 5 procexport.yaml"
grep -q 'run_user' "$work/man5" || fail "procexport.yaml(5) does not render its keys"
step "man procexport: $(wc -l <"$work/man1") lines; man 5 procexport.yaml: $(wc -l <"$work/man5") lines"

completion=$(bash --norc -c 'source /usr/share/bash-completion/completions/procexport && complete -p procexport')
[[ $completion == *"-F _procexport"*" procexport" ]] || fail "bash completion: $completion"
step "bash: $completion"
for file in /usr/share/zsh/vendor-completions/_procexport /usr/share/fish/vendor_completions.d/procexport.fish; do
    [ -s "$file" ] || fail "no $file"
done
for example in procexport.yaml sudoers; do
    [ -s "/usr/share/doc/procexport/examples/$example" ] || fail "no example $example"
done

# One export, under a throwaway root with a throwaway config (the live system is not touched).
mkdir "$work/app"
cp examples/Procfile "$work/app/Procfile"
printf 'run_user: daemon\nrun_group: daemon\n' >"$work/procexport.yaml"
# As plain root even when this runs through sudo: --config and --root are refused for root
# acting for a sudo user, by design.
px=(env -u SUDO_UID -u SUDO_GID -u SUDO_USER procexport --config "$work/procexport.yaml" --root "$work/root")
"${px[@]}" --dry-run upstart -p "$work/app/Procfile" -n myapp >"$work/dry-run"
grep -q '^=== create /etc/init/fb-myapp.conf' "$work/dry-run" || fail "dry run shows no master job"
[ ! -e "$work/root" ] || fail "the dry run wrote files"
"${px[@]}" upstart -p "$work/app/Procfile" -n myapp
[ -f "$work/root/etc/init/fb-myapp-web_0.conf" ] || fail "the export wrote no job file"
[ -f "$work/root/var/lib/procexport/upstart/fb-myapp.manifest" ] || fail "the export wrote no manifest"
"${px[@]}" clean -n myapp
[ ! -e "$work/root/etc/init/fb-myapp-web_0.conf" ] || fail "clean left a job file"
[ -z "$(find "$STATE_DIR" -mindepth 1)" ] || fail "the export under --root wrote into $STATE_DIR"
step "exported upstart jobs under $work/root and cleaned them"
rm -rf "$work/root" "$work/app" "$work/procexport.yaml" "$work/dry-run"

leftovers() {
    while read -r path; do
        if [ -e "$path" ] && ! grep -qxF "$path" "$work/before"; then echo "$path"; fi
    done <"$work/paths"
}
dpkg -r procexport >/dev/null
left=$(leftovers)
[ -z "$left" ] || fail "dpkg -r left: $left"
{ [ -d "$STATE_DIR" ] && [ -z "$(find "$STATE_DIR" -mindepth 1)" ]; } || fail "dpkg -r did not keep an empty $STATE_DIR"
step "removed: none of the package's files is left; $STATE_DIR is kept"
dpkg -P procexport >/dev/null
[ ! -e "$STATE_DIR" ] || fail "purge left an empty $STATE_DIR"
step "purged: $STATE_DIR is gone"

# A state directory that still records installed jobs survives a purge.
dpkg --path-include='/usr/share/man/*' -i "$deb" >/dev/null
mkdir "$STATE_DIR/systemd"
echo 'fb-other-web.service' >"$STATE_DIR/systemd/fb-other.manifest"
touch "$STATE_DIR/fb-other.lock"
dpkg -P procexport >/dev/null 2>"$work/purge.err"
[ -f "$STATE_DIR/systemd/fb-other.manifest" ] || fail "purge removed a manifest"
grep -q "keeping $STATE_DIR" "$work/purge.err" || fail "purge did not say why it kept $STATE_DIR"
rm -r "$STATE_DIR"
left=$(leftovers)
[ -z "$left" ] || fail "dpkg -P left: $left"
step "purge keeps $STATE_DIR while it lists jobs, and says so"

# The README's install, setup and first-export commands, as written, on a throwaway overlay.
bash packaging/check-readme.sh
echo "check-deb: 1 passed, 0 failed"

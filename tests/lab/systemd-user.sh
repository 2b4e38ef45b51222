#!/bin/sh
# systemd-user under a real user manager with lingering on: boots the systemd lab container of
# tests/lab/boot.sh in host-root mode (an overlay of this machine's root, so the
# built procexport is inside), makes a deploy user with lingering, and as that user (no sudo)
# exports, starts, kills, shrinks, stops and cleans an app, printing what it saw.
# Run as root from the checkout, after cargo build: sh tests/lab/systemd-user.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
boot=${BOOT_SH:-$here/boot.sh}
export LAB_ROOTFS=/
name=pxlab-user
user=${LAB_USER:-pxdeploy}
"$boot" up "$name" >/dev/null
trap '"$boot" down "$name" >/dev/null 2>&1' EXIT
"$boot" exec "$name" sh -c "id $user >/dev/null 2>&1 || useradd -m -s /bin/sh $user"
"$boot" exec "$name" loginctl enable-linger "$user"
sleep 3
"$boot" exec "$name" sh -c "
  H=\$(getent passwd $user | cut -d: -f6); mkdir -p \"\$H/app\"
  printf 'version: 2\nenv:\n  SECRET: \"s3cr3t 100%% \$HOME q\"\ncommands:\n  web:\n    command: exec sleep 1000\n  clock:\n    command: exec sleep 1001\n' > \"\$H/app/Procfile\"
  printf 'run_user: $user\nrun_group: $user\n' > \"\$H/app/config.yaml\"
  chown -R $user: \"\$H\""
"$boot" exec "$name" setpriv --reuid="$user" --regid="$user" --init-groups sh -c "
  cd \"\$(getent passwd $user | cut -d: -f6)/app\"; export XDG_RUNTIME_DIR=/run/user/\$(id -u)
  P=$repo/target/debug/procexport
  \$P --config config.yaml systemd-user -p Procfile -n myapp
  systemctl --user start fb-myapp.target; sleep 2
  for u in fb-myapp-web fb-myapp-clock; do
    pid=\$(systemctl --user show -p MainPID --value \$u.service)
    echo \"\$u: pid \$pid user \$(ps -o user= -p \$pid) cwd \$(readlink /proc/\$pid/cwd)\"
  done
  pid=\$(systemctl --user show -p MainPID --value fb-myapp-web.service)
  tr '\0' '\n' < /proc/\$pid/environ | grep '^SECRET='
  kill -KILL \$pid; sleep 2
  echo \"web restarted: pid \$(systemctl --user show -p MainPID --value fb-myapp-web.service) (was \$pid)\"
  printf 'web: exec sleep 1000\n' > Procfile
  \$P --config config.yaml systemd-user -p Procfile -n myapp
  echo \"dropped clock: \$(systemctl --user is-active fb-myapp-clock.service) (not stopped: the lifecycle hooks)\"
  systemctl --user stop fb-myapp.target fb-myapp-clock.service
  echo \"after stop: web \$(systemctl --user is-active fb-myapp-web.service)\"
  \$P --config config.yaml clean -n myapp --backend systemd-user
"

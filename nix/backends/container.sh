# claude-sandbox-container: the systemd-nspawn launcher (the launcher's own
# part; see common.sh for how the script is assembled, container.nix for
# the settings).
#
# systemd-nspawn needs root. hostd runs this launcher with `sudo -n` unless
# it is root itself (the NixOS module can add the sudo rule); the agent then
# runs as the person who called sudo, not as root. The container's root is
# an empty folder made for this run: the Nix store read-only, a few files of
# /etc, the project, and a home of its own. It is removed afterwards.

launcher_name=claude-sandbox-container
vm_flags=0

usage() {
  cat <<'EOF'
usage: claude-sandbox-container [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

Run a coding agent in a systemd-nspawn container (needs root: run it with
sudo; the agent runs as the user who called sudo). PROJECT_DIR read-write at
its own path, a home with ~/.claude read-write and git/SSH config read-only,
the Nix store read-only, nothing else of the host's files.

options:
  --no-network   no network inside (systemd-nspawn --private-network)
  --shell        start an interactive shell in the container instead of the agent
  --agent CMD    the agent program, looked up on the container's PATH or a path
                 (default: claude); its arguments go after --
  -h, --help     show this help and exit

Forwarded when present: the X11 display and its cookie, the Wayland socket,
GPU devices, PulseAudio/PipeWire, the SSH agent, the Nix daemon, the locale;
the D-Bus session bus only if the launcher was built with it.

Exit status: the agent's; 127 when the agent is not found inside; 2 for a
usage error.
EOF
}

parse_contract "$@"
[ "$(id -u)" = 0 ] || die "systemd-nspawn needs root: run this with sudo (hostd does so with sudo -n; see the NixOS module's services.claude-sandbox-hostd.containerSudo)"

# The person the agent runs as: whoever called sudo, else root.
run_as=${SUDO_USER:-root}
IFS=: read -r _ _ run_uid run_gid _ home _ < <(getent passwd "$run_as") ||
  die "no such user: $run_as"
resolve_project "$home"
home=$(realpath -- "$home")
sandbox_command

# systemd-nspawn reads ':' in --bind=SRC:DST as the separator; a path keeps
# its own colons (and backslashes) escaped.
esc() {
  local p=${1//\\/\\\\}
  printf '%s' "${p//:/\\:}"
}

root=$(mktemp -d /run/claude-sandbox-container.XXXXXX)
trap 'rm -rf --one-file-system -- "$root"' EXIT
# A signal ends the script through its EXIT trap, so the folder goes too.
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 130' INT

# The container's root: just enough for systemd-nspawn to accept it as an OS
# tree (it looks for /usr and os-release) and for programs to find sh, env.
mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/bin" "$root/etc" "$root/nix/store" "$root$home"
ln -s "$posix_sh" "$root/bin/sh"
ln -s "$sandbox_env/bin/env" "$root/usr/bin/env"
printf 'ID=claude-sandbox\nNAME=claude-sandbox container\n' >"$root/usr/lib/os-release"
ln -s ../usr/lib/os-release "$root/etc/os-release"
chown "$run_uid:$run_gid" "$root$home"
chmod 0700 "$root$home"
if [ -f "$home/.claude.json" ]; then
  # A copy, not a bind (see bubblewrap.sh).
  install -m 0600 -o "$run_uid" -g "$run_gid" "$home/.claude.json" "$root$home/.claude.json"
fi
install -d -m 0700 -o "$run_uid" -g "$run_gid" "$home/.claude"

machine="claude-sandbox-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
args=(
  --quiet
  --register=no
  --as-pid2
  --directory="$root"
  --machine="$machine"
  --user="$run_as"
  --chdir="$project"
  --no-new-privileges=yes
  --link-journal=no
  --resolv-conf=bind-host
  --timezone=bind
  --bind-ro=/nix/store
  --bind-ro=/etc/passwd
  --bind-ro=/etc/group
  --tmpfs=/tmp
  --tmpfs=/var/tmp
  --tmpfs="/run/user/$run_uid:mode=0700,uid=$run_uid,gid=$run_gid"
  --bind="$(esc "$home/.claude")"
)
if [ "$network" = 0 ]; then
  args+=(--private-network)
fi
for rel in .gitconfig .config/git .ssh; do
  if [ -e "$home/$rel" ]; then
    args+=(--bind-ro="$(esc "$home/$rel")")
  fi
done
if [ -e /etc/nix/nix.conf ]; then
  args+=(--bind-ro="$(esc "$(realpath /etc/nix/nix.conf)"):/etc/nix/nix.conf")
fi

setenv() { args+=(--setenv="$1=$2"); }
while IFS= read -r -d '' pair; do
  setenv "${pair%%=*}" "${pair#*=}"
done < <(forwarded_env)
setenv HOME "$home"
setenv USER "$run_as"
setenv LOGNAME "$run_as"
setenv PATH "$sandbox_env/bin"
setenv XDG_RUNTIME_DIR "/run/user/$run_uid"
setenv LOCALE_ARCHIVE "$locale_archive"
setenv SSL_CERT_FILE "$ca_bundle"
setenv NIX_SSL_CERT_FILE "$ca_bundle"
if [ -n "$chromium" ]; then
  setenv CHROME_PATH "$chromium"
  setenv PUPPETEER_EXECUTABLE_PATH "$chromium"
fi

# The caller's runtime folder: sudo keeps XDG_RUNTIME_DIR only when told to.
host_runtime=${XDG_RUNTIME_DIR:-/run/user/$run_uid}
run_user=/run/user/$run_uid
if [ "$with_x11" = 1 ] && [[ "${DISPLAY:-}" =~ ^(unix)?:([0-9]+)(\.[0-9]+)?$ ]]; then
  x_socket=/tmp/.X11-unix/X${BASH_REMATCH[2]}
  if [ -S "$x_socket" ]; then
    args+=(--bind-ro="$x_socket")
  fi
  setenv DISPLAY "$DISPLAY"
  xauth=${XAUTHORITY:-$home/.Xauthority}
  if [ -f "$xauth" ]; then
    args+=(--bind-ro="$(esc "$xauth"):$run_user/xauthority")
    setenv XAUTHORITY "$run_user/xauthority"
  fi
fi
if [ "$with_wayland" = 1 ] && [ -n "${WAYLAND_DISPLAY:-}" ]; then
  case "$WAYLAND_DISPLAY" in
    /*) wayland_socket=$WAYLAND_DISPLAY ;;
    *) wayland_socket=$host_runtime/$WAYLAND_DISPLAY ;;
  esac
  if [ -S "$wayland_socket" ]; then
    args+=(--bind-ro="$(esc "$wayland_socket"):$run_user/wayland-0")
    setenv WAYLAND_DISPLAY wayland-0
  fi
fi
if [ "$with_dbus" = 1 ]; then
  bus=${DBUS_SESSION_BUS_ADDRESS:-unix:path=$host_runtime/bus}
  if [[ "$bus" =~ ^unix:path=([^,\;]+) ]] && [ -S "${BASH_REMATCH[1]}" ]; then
    args+=(--bind-ro="$(esc "${BASH_REMATCH[1]}"):$run_user/bus")
    setenv DBUS_SESSION_BUS_ADDRESS "unix:path=$run_user/bus"
  fi
fi
if [ "$with_gpu" = 1 ]; then
  for dev in /dev/dri /dev/nvidiactl /dev/nvidia-uvm /dev/nvidia0 /dev/nvidia1; do
    if [ -e "$dev" ]; then
      args+=(--bind="$dev")
    fi
  done
  if [ -e /run/opengl-driver ]; then
    args+=(--bind-ro=/run/opengl-driver)
  fi
fi
if [ "$with_audio" = 1 ]; then
  if [ -S "$host_runtime/pulse/native" ]; then
    args+=(--bind-ro="$(esc "$host_runtime/pulse/native"):$run_user/pulse/native")
    setenv PULSE_SERVER "unix:$run_user/pulse/native"
  fi
  if [ -S "$host_runtime/pipewire-0" ]; then
    args+=(--bind-ro="$(esc "$host_runtime/pipewire-0"):$run_user/pipewire-0")
  fi
fi
if [ "$with_ssh_agent" = 1 ] && [ -S "${SSH_AUTH_SOCK:-}" ]; then
  args+=(--bind-ro="$(esc "$SSH_AUTH_SOCK"):$run_user/ssh-agent.sock")
  setenv SSH_AUTH_SOCK "$run_user/ssh-agent.sock"
fi
if [ "$with_nix_daemon" = 1 ] && [ -S /nix/var/nix/daemon-socket/socket ]; then
  args+=(--bind-ro=/nix/var/nix/daemon-socket)
  setenv NIX_REMOTE daemon
fi

# The project last, so that it wins over anything above it.
args+=(--bind="$(esc "$project")")

status=0
systemd-nspawn "${args[@]}" \
  -- "$posix_sh" -c "$check_and_exec" claude-sandbox "${command_argv[@]}" || status=$?
exit "$status"

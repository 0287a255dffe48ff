# claude-sandbox: the bubblewrap launcher (the launcher's own part; see
# common.sh for how the script is assembled, bubblewrap.nix for the settings).
#
# The sandbox is built from the Nix store, not from the host's /usr: its
# PATH is the launcher's own environment (the agent, Chromium, git, a shell
# and extraPackages), so it is the same on NixOS and on any Linux with Nix.
# From the host it takes only what the table in README.md lists.

launcher_name=claude-sandbox
vm_flags=0

usage() {
  cat <<'EOF'
usage: claude-sandbox [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

Run a coding agent in a bubblewrap sandbox: PROJECT_DIR read-write at its
own path, a private home with ~/.claude read-write and git/SSH config
read-only, the Nix store read-only, nothing else of the host's files.

options:
  --no-network   no network inside: only a private loopback interface
  --shell        start an interactive shell in the sandbox instead of the agent
  --agent CMD    the agent program, looked up on the sandbox's PATH or a path
                 (default: claude); its arguments go after --
  -h, --help     show this help and exit

Forwarded when present: the X11 display and its cookie, the Wayland socket,
GPU devices, PulseAudio/PipeWire, the SSH agent, the Nix daemon, the locale;
the D-Bus session bus only if the launcher was built with it.

Exit status: the agent's; 127 when the agent is not found inside the
sandbox; 2 for a usage error.
EOF
}

parse_contract "$@"
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
resolve_project "$home"
home=$(realpath -- "$home")
sandbox_command

uid=$(id -u)
host_runtime=${XDG_RUNTIME_DIR:-/run/user/$uid}
run_user=/run/user/$uid

args=(--die-with-parent --unshare-pid --unshare-ipc --unshare-cgroup-try)
if [ "$network" = 0 ]; then
  # A new network namespace holds only its own loopback interface.
  args+=(--unshare-net)
fi

# -- the system: the Nix store and a minimal /etc -------------------------------
args+=(
  --ro-bind /nix/store /nix/store
  --proc /proc --dev /dev --ro-bind /sys /sys
  --tmpfs /tmp --tmpfs /var/tmp --tmpfs /run
  --perms 0700 --dir "$run_user"
  --symlink "$posix_sh" /bin/sh
  --symlink "$sandbox_env/bin/env" /usr/bin/env
)
# Bound at their real paths' contents, so the symlinks NixOS keeps in /etc
# (into /etc/static) need nothing more.
for name in passwd group hosts nsswitch.conf resolv.conf host.conf localtime machine-id nix/nix.conf; do
  if [ -e "/etc/$name" ]; then
    args+=(--ro-bind "$(realpath -- "/etc/$name")" "/etc/$name")
  fi
done

env_args=(--clearenv)
setenv() { env_args+=(--setenv "$1" "$2"); }
while IFS= read -r -d '' pair; do
  setenv "${pair%%=*}" "${pair#*=}"
done < <(forwarded_env)
setenv HOME "$home"
setenv USER "$(id -un)"
setenv LOGNAME "$(id -un)"
setenv PATH "$sandbox_env/bin"
setenv XDG_RUNTIME_DIR "$run_user"
setenv LOCALE_ARCHIVE "$locale_archive"
setenv SSL_CERT_FILE "$ca_bundle"
setenv NIX_SSL_CERT_FILE "$ca_bundle"
if [ -n "$chromium" ]; then
  # Where browser-driving tools (Puppeteer, Playwright, chrome-devtools) look.
  setenv CHROME_PATH "$chromium"
  setenv PUPPETEER_EXECUTABLE_PATH "$chromium"
fi

# -- display ------------------------------------------------------------------
if [ "$with_x11" = 1 ] && [[ "${DISPLAY:-}" =~ ^(unix)?:([0-9]+)(\.[0-9]+)?$ ]]; then
  # Only this display's socket: not /tmp/.X11-unix wholesale.
  x_socket=/tmp/.X11-unix/X${BASH_REMATCH[2]}
  if [ -S "$x_socket" ]; then
    args+=(--ro-bind "$x_socket" "$x_socket")
  fi
  setenv DISPLAY "$DISPLAY"
  xauth=${XAUTHORITY:-$home/.Xauthority}
  if [ -f "$xauth" ]; then
    args+=(--ro-bind "$xauth" "$run_user/xauthority")
    setenv XAUTHORITY "$run_user/xauthority"
  fi
fi
if [ "$with_wayland" = 1 ] && [ -n "${WAYLAND_DISPLAY:-}" ]; then
  case "$WAYLAND_DISPLAY" in
    /*) wayland_socket=$WAYLAND_DISPLAY ;;
    *) wayland_socket=$host_runtime/$WAYLAND_DISPLAY ;;
  esac
  if [ -S "$wayland_socket" ]; then
    args+=(--ro-bind "$wayland_socket" "$run_user/wayland-0")
    setenv WAYLAND_DISPLAY wayland-0
  fi
fi

# -- D-Bus, GPU, audio --------------------------------------------------------
if [ "$with_dbus" = 1 ]; then
  bus=${DBUS_SESSION_BUS_ADDRESS:-unix:path=$host_runtime/bus}
  if [[ "$bus" =~ ^unix:path=([^,\;]+) ]] && [ -S "${BASH_REMATCH[1]}" ]; then
    args+=(--ro-bind "${BASH_REMATCH[1]}" "$run_user/bus")
    setenv DBUS_SESSION_BUS_ADDRESS "unix:path=$run_user/bus"
  fi
fi
if [ "$with_gpu" = 1 ]; then
  for dev in /dev/dri /dev/nvidiactl /dev/nvidia-uvm /dev/nvidia0 /dev/nvidia1; do
    if [ -e "$dev" ]; then
      args+=(--dev-bind "$dev" "$dev")
    fi
  done
  # NixOS puts the GL and Vulkan drivers matching the kernel here.
  if [ -e /run/opengl-driver ]; then
    args+=(--ro-bind /run/opengl-driver /run/opengl-driver)
  fi
fi
if [ "$with_audio" = 1 ]; then
  if [ -S "$host_runtime/pulse/native" ]; then
    args+=(--ro-bind "$host_runtime/pulse/native" "$run_user/pulse/native")
    setenv PULSE_SERVER "unix:$run_user/pulse/native"
  fi
  if [ -S "$host_runtime/pipewire-0" ]; then
    args+=(--ro-bind "$host_runtime/pipewire-0" "$run_user/pipewire-0")
  fi
fi

# -- SSH agent, Nix daemon ------------------------------------------------------
if [ "$with_ssh_agent" = 1 ] && [ -S "${SSH_AUTH_SOCK:-}" ]; then
  args+=(--ro-bind "$SSH_AUTH_SOCK" "$run_user/ssh-agent.sock")
  setenv SSH_AUTH_SOCK "$run_user/ssh-agent.sock"
fi
if [ "$with_nix_daemon" = 1 ] && [ -S /nix/var/nix/daemon-socket/socket ]; then
  # nix inside builds and fetches through the host's daemon; what it adds
  # to the store appears under the (read-only) /nix/store bind.
  args+=(--ro-bind /nix/var/nix/daemon-socket /nix/var/nix/daemon-socket)
  setenv NIX_REMOTE daemon
fi

# -- the home: private, with ~/.claude and read-only config ----------------------
args+=(--perms 0700 --tmpfs "$home")
# Created on the host when missing, so a login made inside is kept.
[ -d "$home/.claude" ] || mkdir -m 0700 "$home/.claude"
args+=(--bind "$home/.claude" "$home/.claude")
if [ -f "$home/.claude.json" ]; then
  # A copy, not a bind: the agent replaces the file by rename, which a bind
  # mount refuses, and parallel sandboxes must not race on the host's copy.
  exec {claude_json_fd}<"$home/.claude.json"
  args+=(--perms 0600 --file "$claude_json_fd" "$home/.claude.json")
fi
for rel in .gitconfig .config/git .ssh; do
  if [ -e "$home/$rel" ]; then
    args+=(--ro-bind "$home/$rel" "$home/$rel")
  fi
done

# -- the project, last so that it wins over anything above it ----------------------
args+=(--bind "$project" "$project" --chdir "$project")

exec bwrap "${args[@]}" "${env_args[@]}" \
  -- "$posix_sh" -c "$check_and_exec" claude-sandbox "${command_argv[@]}"

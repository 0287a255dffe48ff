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
usage: claude-sandbox [--no-network] [--shell] [--ssh-agent] [--claude-config DIR]
                      [--hooks DIR] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

Run a coding agent in a bubblewrap sandbox: PROJECT_DIR read-write at its
own path (its .git/config and .git/hooks read-only), a private home with the
git config and ~/.ssh's known_hosts, config and *.pub read-only (no private
key), the Nix store read-only, nothing else of the host's files.

options:
  --no-network         no network inside: only a private loopback interface
  --shell              start an interactive shell in the sandbox instead of the agent
  --ssh-agent          forward the SSH agent ($SSH_AUTH_SOCK): the agent can then
                       sign with every key it holds, for as long as it runs
  --claude-config DIR  the sandbox's own Claude config folder, read-write at its
                       path and CLAUDE_CONFIG_DIR inside; your own config entries
                       read-only in it, your login (.credentials.json) read-write,
                       ~/.claude.json copied. Without it: none of your Claude config
  --hooks DIR          the sandbox's hooks folder (hostd's): read-only at its path,
                       DIR/events read-write (Claude Code's hook writes there)
  --agent CMD          the agent program, looked up on the sandbox's PATH or a path
                       (default: claude); its arguments go after --
  -h, --help           show this help and exit

Forwarded when present: the X11 display and its cookie, the locale; and only
if the launcher was built with them: the Wayland socket, GPU devices,
PulseAudio/PipeWire, the Nix daemon, the D-Bus session bus.

Exit status: the agent's; 127 when the agent is not found inside the
sandbox; 2 for a usage error.
EOF
}

parse_contract "$@"
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
resolve_project "$home"
home=$(realpath -- "$home")
# The person's own Claude config: never visible itself; with --claude-config
# its entries are, one by one.
if [ -n "${CLAUDE_CONFIG_DIR:-}" ]; then
  person_claude=$CLAUDE_CONFIG_DIR
  person_claude_json=$CLAUDE_CONFIG_DIR/.claude.json
else
  person_claude=$home/.claude
  person_claude_json=$home/.claude.json
fi
resolve_claude_config "$home" "$person_claude"
resolve_hooks "$home" "$person_claude"
git_protection
sandbox_command

uid=$(id -u)
host_runtime=${XDG_RUNTIME_DIR:-/run/user/$uid}
run_user=/run/user/$uid

# --new-session: the sandbox is not in the terminal's session, so it cannot
# push keystrokes into the terminal outside (TIOCSTI). --disable-userns (bwrap
# 0.8 and later, with --unshare-user) keeps it from making user namespaces of
# its own, the way into much of the kernel's attack surface. --cap-drop ALL:
# run by root, bwrap would otherwise keep every capability inside, and
# CAP_SYS_ADMIN remounts a read-only bind read-write (seen with the built-in
# launcher's probe); for anyone else it is what bwrap does anyway.
args=(--die-with-parent --new-session --unshare-pid --unshare-ipc --unshare-cgroup-try --cap-drop ALL)
bwrap_help=$(bwrap --help 2>&1 || true)
if [[ "$bwrap_help" == *--disable-userns* ]]; then
  args+=(--unshare-user --disable-userns)
fi
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
# Built withWayland only: the agent can then read the clipboard and draw
# windows on the person's desktop.
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
# Built withGpu only: the GPU drivers' kernel interfaces, a large attack
# surface, and what other programs leave in GPU memory.
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
  # Built withAudio only: it can play sound and, as the sockets also take
  # recording, listen to the person's microphone.
  if [ -S "$host_runtime/pulse/native" ]; then
    args+=(--ro-bind "$host_runtime/pulse/native" "$run_user/pulse/native")
    setenv PULSE_SERVER "unix:$run_user/pulse/native"
  fi
  if [ -S "$host_runtime/pipewire-0" ]; then
    args+=(--ro-bind "$host_runtime/pipewire-0" "$run_user/pipewire-0")
  fi
fi

# -- SSH agent, Nix daemon ------------------------------------------------------
# Only with --ssh-agent: the agent can then sign (log in, push) with every key
# the SSH agent holds while the sandbox runs; the keys themselves stay out.
ssh_sock=$(ssh_agent_socket)
if [ -n "$ssh_sock" ]; then
  args+=(--ro-bind "$ssh_sock" "$ssh_agent_inside")
  setenv SSH_AUTH_SOCK "$ssh_agent_inside"
fi
# Built withNixDaemon only: the agent can then build and run derivations as
# the daemon's build users and fill the store.
if [ "$with_nix_daemon" = 1 ] && [ -S /nix/var/nix/daemon-socket/socket ]; then
  # nix inside builds and fetches through the host's daemon; what it adds
  # to the store appears under the (read-only) /nix/store bind.
  args+=(--ro-bind /nix/var/nix/daemon-socket /nix/var/nix/daemon-socket)
  setenv NIX_REMOTE daemon
fi

# -- the home: private, with read-only git and SSH config -------------------------
args+=(--perms 0700 --tmpfs "$home")
# Read-only: what git reads (nothing of it runs outside); of ~/.config/git
# all but the credential store's clear-text tokens.
if [ -e "$home/.gitconfig" ]; then
  args+=(--ro-bind "$home/.gitconfig" "$home/.gitconfig")
fi
if [ -d "$home/.config/git" ]; then
  args+=(--dir "$home/.config/git")
  while IFS= read -r -d '' name; do
    args+=(--ro-bind "$home/.config/git/$name" "$home/.config/git/$name")
  done < <(git_config_names "$home/.config/git")
fi
if [ -d "$home/.ssh" ]; then
  # Public material only, read-only: host keys, the client config, public
  # keys. A private key is never there (signing goes through --ssh-agent).
  args+=(--perms 0700 --dir "$home/.ssh")
  while IFS= read -r -d '' name; do
    args+=(--ro-bind "$home/.ssh/$name" "$home/.ssh/$name")
  done < <(ssh_public_names "$home/.ssh")
fi

# -- the project ---------------------------------------------------------------------
args+=(--bind "$project" "$project" --chdir "$project")

# -- the Claude config (--claude-config DIR), after the home and the project -------
if [ -n "$claude_config" ]; then
  # The sandbox's own folder (made by hostd for this sandbox alone).
  args+=(--bind "$claude_config" "$claude_config")
  setenv CLAUDE_CONFIG_DIR "$claude_config"
  # The person's settings, CLAUDE.md, agents, commands...: read-only, so the
  # agent cannot change what the person's own Claude runs or obeys outside.
  # (bwrap makes the empty mount points in DIR; they stay there, harmless.)
  while IFS= read -r -d '' name; do
    source=$person_claude/$name
    [ -e "$source" ] || continue
    config_mount_point_ok "$source" "$claude_config/$name" || continue
    args+=(--ro-bind "$source" "$claude_config/$name")
  done < <(claude_config_entries "$person_claude")
  # The login: read-write as that one file, so a token refresh inside is kept
  # and the person stays logged in outside. A token, not a program: nothing
  # written there runs.
  if [ -f "$person_claude/.credentials.json" ] &&
    config_mount_point_ok "$person_claude/.credentials.json" "$claude_config/.credentials.json"; then
    args+=(--bind "$person_claude/.credentials.json" "$claude_config/.credentials.json")
  fi
  # Copies, not binds: Claude Code replaces the file by rename, which a bind
  # mount refuses, and parallel sandboxes must not race on the person's copy.
  claude_json_into_config "$person_claude_json"
  if [ -f "$person_claude_json" ]; then
    exec {claude_json_fd}<"$person_claude_json"
    args+=(--perms 0600 --file "$claude_json_fd" "$home/.claude.json")
  fi
fi

# -- the hooks folder (--hooks DIR), after the home and /tmp, where it lies -------
if [ -n "$hooks" ]; then
  # Read-only: hook.sh and settings.json (what Claude Code runs inside) and
  # answers/ (hostd's decisions on the agent's permission requests) are
  # hostd's; nothing inside can change them. DIR/events read-write on top:
  # the hook's event files, which hostd reads as data only, never runs.
  args+=(--ro-bind "$hooks" "$hooks" --bind "$hooks/events" "$hooks/events")
fi

# -- the project's .git, last: what git outside runs or obeys stays as it was ---------
for path in "${git_self[@]}"; do
  args+=(--bind "$path" "$path")
done
for path in "${git_ro[@]}"; do
  args+=(--ro-bind "$path" "$path")
done

exec bwrap "${args[@]}" "${env_args[@]}" \
  -- "$posix_sh" -c "$check_and_exec" claude-sandbox "${command_argv[@]}"

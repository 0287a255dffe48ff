# claude-sandbox-container: the systemd-nspawn launcher (the launcher's own
# part; see common.sh for how the script is assembled, container.nix for
# the settings).
#
# systemd-nspawn needs root. hostd runs this launcher with `sudo -n` unless
# it is root itself (the NixOS module can add the sudo rule); the agent then
# runs as the person who called sudo, not as root. The container's root is
# an empty folder made for this run: the Nix store read-only, a few files of
# /etc, the project, and a home of its own. It is removed afterwards.
#
# Running as root on a person's command, the launcher trusts nothing of
# theirs with root's rights:
# - who they are comes from sudo's SUDO_UID (else our own uid) and the passwd
#   entry of that uid, never from HOME, USER or SUDO_USER;
# - no other path is taken from the environment except the X cookie (read
#   as them), the agent socket and the session bus (sockets they own);
#   their runtime folder is /run/user/<uid>, not XDG_RUNTIME_DIR;
# - whatever it reads of their files (the project, the Claude folders, the
#   git and SSH config, the cookie) it resolves or reads as them (setpriv),
#   so it reaches nothing they cannot;
# - where it expects a file or folder of theirs it refuses a symlink, and it
#   never chowns or writes anything of theirs as root: copies are made in the
#   root-only folder of this run, then given to them; mount points in their
#   folders are made as them.
# Not closed: between those checks and systemd-nspawn's mounts the person
# could swap a checked folder for a symlink; a mount would then show a path
# that only root reaches (with that file's own permissions).

launcher_name=claude-sandbox-container
vm_flags=0

usage() {
  cat <<'EOF'
usage: claude-sandbox-container [--no-network] [--shell] [--ssh-agent] [--claude-config DIR]
                                [--hooks DIR] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

Run a coding agent in a systemd-nspawn container (needs root: run it with
sudo; the agent runs as the user who called sudo). PROJECT_DIR read-write at
its own path (its .git/config and .git/hooks read-only), a home with the git
config and ~/.ssh's known_hosts, config and *.pub (no private key), the Nix
store read-only, nothing else of the host's files.

options:
  --no-network         no network inside (systemd-nspawn --private-network)
  --shell              start an interactive shell in the container instead of the agent
  --ssh-agent          forward the SSH agent ($SSH_AUTH_SOCK, a socket you own): the
                       agent can then sign with every key it holds, while it runs
  --claude-config DIR  the sandbox's own Claude config folder, read-write at its
                       path and CLAUDE_CONFIG_DIR inside; your own ~/.claude entries
                       read-only in it, your login (.credentials.json) read-write,
                       ~/.claude.json copied. Without it: none of your Claude config
  --hooks DIR          the sandbox's hooks folder (hostd's): read-only at its path,
                       DIR/events read-write (Claude Code's hook writes there)
  --agent CMD          the agent program, looked up on the container's PATH or a path
                       (default: claude); its arguments go after --
  -h, --help           show this help and exit

Forwarded when present: the X11 display and its cookie, the locale; and only
if the launcher was built with them: the Wayland socket, GPU devices,
PulseAudio/PipeWire, the Nix daemon, the D-Bus session bus.

Exit status: the agent's; 127 when the agent is not found inside; 2 for a
usage error.
EOF
}

parse_contract "$@"
[ "$(id -u)" = 0 ] || die "systemd-nspawn needs root: run this with sudo (hostd does so with sudo -n; see the NixOS module's services.claude-sandbox-hostd.containerSudo)"

# The person the agent runs as: the uid that called sudo (sudo sets
# SUDO_UID itself), else root; the rest from that uid's passwd entry.
caller_uid=${SUDO_UID:-0}
[[ "$caller_uid" =~ ^[0-9]+$ ]] || die "SUDO_UID '$caller_uid' is not a uid"
IFS=: read -r run_as _ run_uid run_gid _ home _ < <(getent passwd "$caller_uid") ||
  die "no passwd entry for uid $caller_uid"
[ "$run_uid" = "$caller_uid" ] || die "the passwd entry of uid $caller_uid says uid $run_uid"
case "$home" in
  /*) ;;
  *) die "the home of $run_as in passwd, '$home', is not an absolute path" ;;
esac

# As the person: what the launcher reads of theirs, it reads with their
# rights (common.sh calls this for every path it resolves or reads).
as_caller() {
  setpriv --reuid="$run_uid" --regid="$run_gid" --init-groups -- "$@"
}

# mine PATH: PATH is no symlink and belongs to the person.
mine() {
  [ ! -L "$1" ] && [ -e "$1" ] && [ "$(stat -c %u -- "$1")" = "$run_uid" ]
}

# caller_socket PATH: PATH resolved as the person, if it is a socket they own.
caller_socket() {
  local real
  real=$(as_caller realpath -e -- "$1" 2>/dev/null) || return 0
  if [ -S "$real" ] && mine "$real"; then
    printf '%s' "$real"
  fi
}

# copy_as_caller SOURCE DEST: DEST (in this run's root-only folder) gets what
# the person can read of SOURCE, theirs and 0600. SOURCE must be a file, no
# symlink: `~/.claude.json -> /etc/shadow` gives nothing.
copy_as_caller() {
  if [ -L "$1" ]; then
    warn "not taking $1: it is a symlink"
    return 1
  fi
  [ -f "$1" ] || return 1
  if ! (umask 077 && as_caller cat -- "$1" >"$2"); then
    warn "could not read $1"
    rm -f -- "$2"
    return 1
  fi
  chown "$run_uid:$run_gid" "$2"
}

# read_only_copy SOURCE DEST: the same, then root's and 0644 (the agent reads
# it and cannot change it; it is a copy anyway).
read_only_copy() {
  copy_as_caller "$1" "$2" || return 0
  chown 0:0 "$2"
  chmod 0644 "$2"
}

# Paths from the command line are resolved as the person: a folder only root
# reaches is "not an existing directory".
home=$(realpath -m -- "$home")
resolve_project "$home"
# As root the person's Claude folder is their passwd home's (sudo drops
# CLAUDE_CONFIG_DIR, and no path is taken from the environment).
person_claude=$home/.claude
person_claude_json=$home/.claude.json
if [ -L "$person_claude" ]; then
  warn "not taking $person_claude: it is a symlink"
  person_claude=""
fi
resolve_claude_config "$home" "$person_claude"
if [ -n "$claude_config" ] && ! mine "$claude_config"; then
  die "--claude-config '$claude_config' does not belong to $run_as" 2
fi
resolve_hooks "$home" "$person_claude"
if [ -n "$hooks" ] && { ! mine "$hooks" || ! mine "$hooks/events"; }; then
  die "--hooks '$hooks' (or its events folder) does not belong to $run_as" 2
fi
git_protection
sandbox_command

# systemd-nspawn reads ':' in --bind=SRC:DST as the separator; a path keeps
# its own colons (and backslashes) escaped.
esc() {
  local p=${1//\\/\\\\}
  printf '%s' "${p//:/\\:}"
}

# This run's folder, root's alone (0700): the container's root and the
# copies given to the person. The person cannot reach in, so nothing there is
# theirs to swap.
top=$(mktemp -d /run/claude-sandbox-container.XXXXXX)
trap 'rm -rf --one-file-system -- "$top"' EXIT
# A signal ends the script through its EXIT trap, so the folder goes too.
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 130' INT
root=$top/root
files=$top/files
mkdir -m 0700 "$files"

# The container's root: just enough for systemd-nspawn to accept it as an OS
# tree (it looks for /usr and os-release) and for programs to find sh, env.
mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/bin" "$root/etc" "$root/nix/store" "$root$home"
ln -s "$posix_sh" "$root/bin/sh"
ln -s "$sandbox_env/bin/env" "$root/usr/bin/env"
printf 'ID=claude-sandbox\nNAME=claude-sandbox container\n' >"$root/usr/lib/os-release"
ln -s ../usr/lib/os-release "$root/etc/os-release"
chown "$run_uid:$run_gid" "$root$home"
chmod 0700 "$root$home"

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
)
if [ "$network" = 0 ]; then
  args+=(--private-network)
fi

# -- the home: copies of the git and SSH config, read-only to the agent ---------
# Copies rather than binds: read as the person, so they show nothing the
# person cannot read, whatever the home holds.
read_only_copy "$home/.gitconfig" "$root$home/.gitconfig"
if [ -d "$home/.config/git" ] && [ ! -L "$home/.config" ] && [ ! -L "$home/.config/git" ]; then
  # All but the credential store's clear-text tokens.
  install -d -m 0700 -o "$run_uid" -g "$run_gid" "$root$home/.config"
  install -d -m 0755 "$root$home/.config/git"
  while IFS= read -r -d '' name; do
    read_only_copy "$home/.config/git/$name" "$root$home/.config/git/$name"
  done < <(git_config_names "$home/.config/git")
fi
if [ -d "$home/.ssh" ] && [ ! -L "$home/.ssh" ]; then
  # Public material only: host keys, the client config, public keys. A
  # private key is never there (signing goes through --ssh-agent).
  install -d -m 0700 -o "$run_uid" -g "$run_gid" "$root$home/.ssh"
  while IFS= read -r -d '' name; do
    read_only_copy "$home/.ssh/$name" "$root$home/.ssh/$name"
  done < <(ssh_public_names "$home/.ssh")
fi
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

# The person's runtime folder, from their uid (not XDG_RUNTIME_DIR).
host_runtime=/run/user/$run_uid
run_user=/run/user/$run_uid
if [ "$with_x11" = 1 ] && [[ "${DISPLAY:-}" =~ ^(unix)?:([0-9]+)(\.[0-9]+)?$ ]]; then
  x_socket=/tmp/.X11-unix/X${BASH_REMATCH[2]}
  if [ -S "$x_socket" ]; then
    args+=(--bind-ro="$x_socket")
  fi
  setenv DISPLAY "$DISPLAY"
  # The cookie: a copy of what the person can read at XAUTHORITY.
  if copy_as_caller "${XAUTHORITY:-$home/.Xauthority}" "$files/xauthority"; then
    args+=(--bind-ro="$(esc "$files/xauthority"):$run_user/xauthority")
    setenv XAUTHORITY "$run_user/xauthority"
  fi
fi
# Built withWayland only: the agent can then read the clipboard and draw
# windows on the person's desktop. A socket name in their runtime folder only.
if [ "$with_wayland" = 1 ] && [[ "${WAYLAND_DISPLAY:-}" =~ ^[A-Za-z0-9._-]+$ ]]; then
  wayland_socket=$(caller_socket "$host_runtime/$WAYLAND_DISPLAY")
  if [ -n "$wayland_socket" ]; then
    args+=(--bind-ro="$(esc "$wayland_socket"):$run_user/wayland-0")
    setenv WAYLAND_DISPLAY wayland-0
  fi
fi
# Built withDbus only: the session bus reaches systemd --user, which can
# start processes outside the container.
if [ "$with_dbus" = 1 ]; then
  bus=${DBUS_SESSION_BUS_ADDRESS:-unix:path=$host_runtime/bus}
  if [[ "$bus" =~ ^unix:path=([^,\;]+) ]]; then
    bus_socket=$(caller_socket "${BASH_REMATCH[1]}")
    if [ -n "$bus_socket" ]; then
      args+=(--bind-ro="$(esc "$bus_socket"):$run_user/bus")
      setenv DBUS_SESSION_BUS_ADDRESS "unix:path=$run_user/bus"
    fi
  fi
fi
# Built withGpu only: the GPU drivers' kernel interfaces, a large attack
# surface, and what other programs leave in GPU memory.
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
# Built withAudio only: it can play sound and listen to the microphone.
if [ "$with_audio" = 1 ]; then
  pulse=$(caller_socket "$host_runtime/pulse/native")
  if [ -n "$pulse" ]; then
    args+=(--bind-ro="$(esc "$pulse"):$run_user/pulse/native")
    setenv PULSE_SERVER "unix:$run_user/pulse/native"
  fi
  pipewire=$(caller_socket "$host_runtime/pipewire-0")
  if [ -n "$pipewire" ]; then
    args+=(--bind-ro="$(esc "$pipewire"):$run_user/pipewire-0")
  fi
fi
# Only with --ssh-agent, and only a socket the person owns: the agent can
# then sign with every key the SSH agent holds while the container runs.
ssh_sock=$(ssh_agent_socket)
if [ -n "$ssh_sock" ]; then
  ssh_sock=$(caller_socket "$ssh_sock")
  if [ -n "$ssh_sock" ]; then
    args+=(--bind-ro="$(esc "$ssh_sock"):$ssh_agent_inside")
    setenv SSH_AUTH_SOCK "$ssh_agent_inside"
  else
    warn "--ssh-agent: SSH_AUTH_SOCK is not a socket of $run_as's; no agent forwarded"
  fi
fi
# Built withNixDaemon only: the agent can then build and run derivations as
# the daemon's build users and fill the store.
if [ "$with_nix_daemon" = 1 ] && [ -S /nix/var/nix/daemon-socket/socket ]; then
  args+=(--bind-ro=/nix/var/nix/daemon-socket)
  setenv NIX_REMOTE daemon
fi

# The project (systemd-nspawn orders its mounts by destination, parents first).
args+=(--bind="$(esc "$project")")

# -- the Claude config (--claude-config DIR) -----------------------------------------
# take_entry SOURCE: SOURCE (no symlink, something the person can read) gets a
# mount point in DIR, made as the person (not by systemd-nspawn as root).
take_entry() {
  local source=$1 dest=$claude_config/${1##*/}
  if [ -L "$source" ]; then
    warn "not taking $source: it is a symlink"
    return 1
  fi
  as_caller test -r "$source" || return 1
  config_mount_point_ok "$source" "$dest" || return 1
  if [ ! -e "$dest" ]; then
    if [ -d "$source" ]; then
      as_caller mkdir -- "$dest"
    else
      as_caller touch -- "$dest"
    fi
  fi
}
if [ -n "$claude_config" ]; then
  # The sandbox's own folder (made by hostd for this sandbox alone, theirs).
  args+=(--bind="$(esc "$claude_config")")
  setenv CLAUDE_CONFIG_DIR "$claude_config"
  if [ -n "$person_claude" ] && [ -d "$person_claude" ]; then
    # The person's settings, CLAUDE.md, agents, commands...: read-only, so the
    # agent cannot change what the person's own Claude runs or obeys outside.
    while IFS= read -r -d '' name; do
      if take_entry "$person_claude/$name"; then
        args+=(--bind-ro="$(esc "$person_claude/$name"):$(esc "$claude_config/$name")")
      fi
    done < <(claude_config_entries "$person_claude")
    # The login, read-write as that one file (a token: nothing in it runs).
    credentials=$person_claude/.credentials.json
    if [ -f "$credentials" ] && take_entry "$credentials" && as_caller test -w "$credentials"; then
      args+=(--bind="$(esc "$credentials"):$(esc "$claude_config/.credentials.json")")
    fi
  fi
  if [ -L "$person_claude_json" ]; then
    warn "not taking $person_claude_json: it is a symlink"
  elif copy_as_caller "$person_claude_json" "$root$home/.claude.json"; then
    claude_json_into_config "$person_claude_json"
  fi
fi

# -- the hooks folder (--hooks DIR) ---------------------------------------------------
if [ -n "$hooks" ]; then
  # Read-only: hook.sh and settings.json (what Claude Code runs inside) and
  # answers/ (hostd's decisions on the agent's permission requests) are
  # hostd's; nothing inside can change them. DIR/events read-write on top
  # (systemd-nspawn mounts parents first): the hook's event files, which
  # hostd reads as data only, never runs.
  args+=(--bind-ro="$(esc "$hooks")" --bind="$(esc "$hooks/events")")
fi

# -- the project's .git: what git outside runs or obeys stays as it was ---------------
for path in "${git_self[@]}"; do
  args+=(--bind="$(esc "$path")")
done
for path in "${git_ro[@]}"; do
  args+=(--bind-ro="$(esc "$path")")
done

status=0
systemd-nspawn "${args[@]}" \
  -- "$posix_sh" -c "$check_and_exec" claude-sandbox "${command_argv[@]}" || status=$?
exit "$status"

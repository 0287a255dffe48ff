# claude-sandbox-vm: the QEMU launcher (the launcher's own part; see
# common.sh for how the script is assembled, vm.nix for the settings and
# vm-guest.nix for the NixOS system it boots).
#
# The VM's serial console is this terminal: the agent runs on it, so the
# tmux pane shows and drives the agent as with the other backends. The VM's
# screen is its own X display, which hostd grabs through QMP (--qmp) while
# QEMU shows no window (--headless).
#
# Everything the guest must know (the agent's argv, the project's path, the
# terminal) goes through files in the exchange folder (9p, the guest's
# /tmp/xchg), never through the kernel command line, so any path or argument
# arrives intact. The guest writes the agent's exit status back there.
#
# What the guest gets of the host (9p shares are folders, so some of the
# contract is done by copies and by mounts inside the guest):
# - the project: a read-write share at its own path; the guest's set-up
#   (root) mounts .git onto itself and .git/config, .git/hooks read-only over
#   the share, as the other launchers do. Those mounts hold against the agent
#   (an unprivileged user in the guest), not against root in the guest: the
#   share itself is writable.
# - --claude-config DIR: a read-write share at its own path. The person's
#   config entries are copied into the exchange folder at start and mounted
#   read-only over DIR/<name> by the guest. Their .credentials.json is a copy
#   too, mounted read-write at DIR/.credentials.json; after the VM ends this
#   launcher copies it back, that one file only, if the guest changed it and
#   the person's own did not change meanwhile (see copy_back_credentials).
# - --hooks DIR: a read-write share; the guest's set-up mounts it at its own
#   path, remounts that read-only and mounts DIR/events read-write over it,
#   as the other launchers bind them. Like the .git mounts, they hold against
#   the agent, not against root in the guest (9p shares one folder with one
#   mode: a read-only share could not have a writable events/ in it, so the
#   share itself is writable and the guest makes the read-only view).
# - ~/.ssh: a read-only share of a folder of copies of known_hosts, config
#   and *.pub; never a private key.
# - --ssh-agent: refused softly (a message, no agent): a unix socket cannot
#   cross 9p, and the VM has no other channel for it.

launcher_name=claude-sandbox-vm
vm_flags=1

usage() {
  cat <<'EOF'
usage: claude-sandbox-vm [--headless] [--qmp SOCKET] [--no-network] [--shell] [--ssh-agent]
                         [--claude-config DIR] [--hooks DIR] [--agent CMD] PROJECT_DIR
                         [-- AGENT_ARGS...]

Run a coding agent in a QEMU virtual machine (NixOS). The agent runs on the
VM's serial console, which is this terminal; PROJECT_DIR is shared read-write
(its .git/config and .git/hooks read-only), the git config and ~/.ssh's
known_hosts, config and *.pub (no private key) copied in.

options:
  --headless           no QEMU window (the VM's screen is still there for --qmp)
  --qmp SOCKET         serve QMP on the unix socket SOCKET (for screendump)
  --no-network         no network inside (QEMU user networking with restrict=on)
  --shell              start an interactive shell in the VM instead of the agent
  --ssh-agent          accepted, and says on stderr that no agent is forwarded:
                       a socket cannot cross the VM's 9p shares
  --claude-config DIR  the sandbox's own Claude config folder, shared read-write at
                       its path and CLAUDE_CONFIG_DIR inside; your own config entries
                       copied in read-only, your login (.credentials.json) copied in
                       and back, ~/.claude.json copied. Without it: none of your
                       Claude config
  --hooks DIR          the sandbox's hooks folder (hostd's), shared at its path:
                       read-only to the agent but DIR/events (Claude Code's hook
                       writes there)
  --agent CMD          the agent program, looked up on the VM's PATH or a path
                       (default: claude); its arguments go after --
  -h, --help           show this help and exit

Exit status: the agent's; 127 when the agent is not found inside the VM;
2 for a usage error; 1 when the VM stopped without reporting one.
EOF
}

parse_contract "$@"
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
resolve_project "$home"
home=$(realpath -- "$home")
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
if [ "$ssh_agent" = 1 ]; then
  warn "--ssh-agent: the VM cannot take the SSH agent (a socket cannot cross its 9p shares); no agent forwarded"
fi
if [ -n "$qmp_socket" ]; then
  case "$qmp_socket" in
    /*) ;;
    *) die_usage "--qmp needs an absolute socket path, not '$qmp_socket'" ;;
  esac
fi

work=$(mktemp -d "${XDG_RUNTIME_DIR:-/tmp}/claude-sandbox-vm.XXXXXX")
trap 'rm -rf --one-file-system -- "$work"' EXIT
# A signal ends the script through its EXIT trap, so the folder goes too.
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 130' INT

xchg=$work/xchg
mkdir -p "$xchg/home"
printf '%s\0' "${command_argv[@]}" >"$xchg/argv"
printf '%s' "$check_and_exec" >"$xchg/check-and-exec"
printf '%s' "$project" >"$xchg/project"
printf '%s' "${TERM:-xterm-256color}" >"$xchg/term"
printf '%s %s' "$(id -u)" "$(id -g)" >"$xchg/owner"
while IFS= read -r -d '' pair; do
  printf '%s\0' "$pair" >>"$xchg/env"
done < <(forwarded_env)
touch "$xchg/env"
# What the guest's set-up mounts onto itself, or read-only, over the project
# share (only paths under the project exist in the guest).
: >"$xchg/git-self"
: >"$xchg/git-ro"
for path in "${git_self[@]}"; do printf '%s\0' "$path" >>"$xchg/git-self"; done
for path in "${git_ro[@]}"; do printf '%s\0' "$path" >>"$xchg/git-ro"; done
if [ -t 0 ]; then
  # A serial console has no window size; the guest sets this one on it.
  stty size >"$xchg/tty-size" || true
fi
# Copies, read by the guest at boot: the guest's changes stay in the guest.
# Of ~/.config/git all but the credential store's clear-text tokens.
if [ -f "$home/.gitconfig" ]; then
  cp -L -- "$home/.gitconfig" "$xchg/home/.gitconfig"
fi
if [ -d "$home/.config/git" ]; then
  mkdir -p "$xchg/home/.config/git"
  while IFS= read -r -d '' name; do
    cp -RL -- "$home/.config/git/$name" "$xchg/home/.config/git/$name"
  done < <(git_config_names "$home/.config/git")
fi
# ~/.ssh: copies of the public material only, shared read-only.
mkdir -m 0700 "$work/ssh"
while IFS= read -r -d '' name; do
  cp -L -- "$home/.ssh/$name" "$work/ssh/$name"
done < <(ssh_public_names "$home/.ssh")

# QEMU's -virtfs takes the path inside a comma-separated option list; links
# from this comma-free folder keep any project path out of it.
ln -s -- "$project" "$work/project"

# The Claude config. Without --claude-config the share is an empty folder of
# this run's, which the guest does not mount.
credentials=""
if [ -n "$claude_config" ]; then
  ln -s -- "$claude_config" "$work/claude-config"
  printf '%s' "$claude_config" >"$xchg/claude-config"
  printf 'CLAUDE_CONFIG_DIR=%s\0' "$claude_config" >>"$xchg/env"
  # The person's entries, copied (symlinks followed, so nothing in the copy
  # points back into the host); the guest mounts them read-only at DIR/<name>.
  mkdir -m 0700 "$xchg/claude-ro"
  while IFS= read -r -d '' name; do
    [ -e "$person_claude/$name" ] || continue
    cp -RL -- "$person_claude/$name" "$xchg/claude-ro/$name" ||
      warn "could not copy $person_claude/$name into the VM"
  done < <(claude_config_entries "$person_claude")
  # The login: a copy, mounted read-write at DIR/.credentials.json in the
  # guest, and copied back after the VM ends (copy_back_credentials).
  if [ -f "$person_claude/.credentials.json" ]; then
    credentials=$person_claude/.credentials.json
    (umask 077 && cp -- "$credentials" "$xchg/credentials.json" && cp -- "$credentials" "$work/credentials.orig")
  fi
  claude_json_into_config "$person_claude_json"
  if [ -f "$person_claude_json" ]; then
    cp -L -- "$person_claude_json" "$xchg/home/.claude.json"
  fi
else
  mkdir -m 0700 "$work/claude-config"
fi

# The hooks folder: shared as it is (the guest writes its events there,
# which hostd on this side reads, and reads hostd's answers). Without
# --hooks, an empty folder of this run's, which the guest does not mount.
if [ -n "$hooks" ]; then
  ln -s -- "$hooks" "$work/hooks"
  printf '%s' "$hooks" >"$xchg/hooks"
else
  mkdir -m 0700 "$work/hooks"
fi

# copy_back_credentials: the guest's .credentials.json back into the person's
# folder, only when the guest changed it, the person's own is unchanged since
# the VM started (a login refreshed outside meanwhile wins), and what the
# guest left is a plain file of a credentials file's size. The VM is gone by
# then: nothing of the guest's can change it while it is checked and copied.
copy_back_credentials() {
  local back=$xchg/credentials.json size
  [ -n "$credentials" ] || return 0
  if [ -L "$back" ] || [ ! -f "$back" ]; then
    warn "the VM left no plain .credentials.json; yours is unchanged"
    return 0
  fi
  cmp -s -- "$back" "$work/credentials.orig" && return 0
  size=$(stat -c %s -- "$back")
  if [ "$size" -gt 1048576 ]; then
    warn "the VM's .credentials.json is $size bytes; yours is unchanged"
  elif ! cmp -s -- "$credentials" "$work/credentials.orig"; then
    warn "your .credentials.json changed outside while the VM ran; the VM's login refresh is dropped"
  else
    # In place: the person's file keeps its mode, owner and any symlink of theirs.
    cat -- "$back" >"$credentials" || warn "could not copy the VM's login back into $credentials"
  fi
}

# Read by the VM runner (nixpkgs' qemu-vm.nix) and vm-guest.nix's shares.
export TMPDIR=$work USE_TMPDIR=1
export SHARED_DIR=$work/project
export CLAUDE_SANDBOX_VM_CLAUDE_CONFIG=$work/claude-config
export CLAUDE_SANDBOX_VM_SSH=$work/ssh
export CLAUDE_SANDBOX_VM_HOOKS=$work/hooks
if [ "$network" = 0 ]; then
  # SLiRP with restrict=on: the guest reaches neither the host nor anything beyond.
  export QEMU_NET_OPTS=restrict=on
else
  export QEMU_NET_OPTS=
fi

# The serial console on this terminal, with Ctrl-C passed to the guest
# (signal=off) instead of ending QEMU; no QEMU monitor (QMP is the control).
qemu_args=(-chardev "stdio,id=console,signal=off" -serial chardev:console -monitor none)
if [ "$headless" = 1 ]; then
  qemu_args+=(-display none)
fi
if [ -n "$qmp_socket" ]; then
  # Commas are doubled inside a QEMU option value.
  qemu_args+=(-qmp "unix:${qmp_socket//,/,,},server=on,wait=off")
fi

status=0
"$vm_runner" "${qemu_args[@]}" || status=$?
copy_back_credentials
if [ -s "$xchg/exit-status" ]; then
  status=$(cat "$xchg/exit-status")
elif [ "$status" = 0 ]; then
  echo "$launcher_name: the VM stopped without reporting the agent's exit status" >&2
  status=1
fi
exit "$status"

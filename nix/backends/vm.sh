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

launcher_name=claude-sandbox-vm
vm_flags=1

usage() {
  cat <<'EOF'
usage: claude-sandbox-vm [--headless] [--qmp SOCKET] [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]

Run a coding agent in a QEMU virtual machine (NixOS). The agent runs on the
VM's serial console, which is this terminal; PROJECT_DIR and ~/.claude are
shared read-write, ~/.ssh read-only, git config and ~/.claude.json copied in.

options:
  --headless     no QEMU window (the VM's screen is still there for --qmp)
  --qmp SOCKET   serve QMP on the unix socket SOCKET (for screendump)
  --no-network   no network inside (QEMU user networking with restrict=on)
  --shell        start an interactive shell in the VM instead of the agent
  --agent CMD    the agent program, looked up on the VM's PATH or a path
                 (default: claude); its arguments go after --
  -h, --help     show this help and exit

Exit status: the agent's; 127 when the agent is not found inside the VM;
2 for a usage error; 1 when the VM stopped without reporting one.
EOF
}

parse_contract "$@"
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
resolve_project "$home"
home=$(realpath -- "$home")
sandbox_command
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
if [ -t 0 ]; then
  # A serial console has no window size; the guest sets this one on it.
  stty size >"$xchg/tty-size" || true
fi
# Copies, read by the guest at boot: the guest's changes stay in the guest.
for rel in .claude.json .gitconfig .config/git; do
  if [ -e "$home/$rel" ]; then
    mkdir -p "$(dirname "$xchg/home/$rel")"
    cp -R -- "$home/$rel" "$xchg/home/$rel"
  fi
done

# QEMU's -virtfs takes the path inside a comma-separated option list; links
# from this comma-free folder keep any project path out of it.
[ -d "$home/.claude" ] || mkdir -m 0700 "$home/.claude"
ln -s -- "$project" "$work/project"
ln -s -- "$home/.claude" "$work/claude"
if [ -d "$home/.ssh" ]; then
  ln -s -- "$home/.ssh" "$work/ssh"
else
  mkdir "$work/ssh"
fi

# Read by the VM runner (nixpkgs' qemu-vm.nix) and vm-guest.nix's shares.
export TMPDIR=$work USE_TMPDIR=1
export SHARED_DIR=$work/project
export CLAUDE_SANDBOX_VM_CLAUDE=$work/claude
export CLAUDE_SANDBOX_VM_SSH=$work/ssh
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
if [ -s "$xchg/exit-status" ]; then
  status=$(cat "$xchg/exit-status")
elif [ "$status" = 0 ]; then
  echo "$launcher_name: the VM stopped without reporting the agent's exit status" >&2
  status=1
fi
exit "$status"

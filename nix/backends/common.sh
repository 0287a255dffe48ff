# Shared part of the Nix launchers (bubblewrap, container, vm).
#
# nix/backends/<launcher>.nix builds one script from three pieces: its
# settings (shell assignments of store paths and feature switches), this
# file, then the launcher's own file. writeShellApplication runs the whole
# with errexit, nounset and pipefail, and checks it with shellcheck at build
# time; tests/test_nix.py assembles the same script with stand-in settings
# and runs shellcheck, --help and the argument checks in CI.
#
# The launcher contract, the same for all three, so hostd starts every backend
# alike (README.md, "Isolation backends"):
#   LAUNCHER [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]
# and the VM launcher adds --headless --qmp SOCKET.

# -- the parsed command line ---------------------------------------------------
network=1
shell_mode=0
# shellcheck disable=SC2034 # read by vm.sh only
headless=0
# shellcheck disable=SC2034 # read by vm.sh only
qmp_socket=""
agent=$default_agent
project=""
agent_args=()

# Runs inside the sandbox as: sh -c "$check_and_exec" claude-sandbox AGENT ARGS...
# A constant: the agent and its arguments are positional parameters, never
# pasted into the script text.
# shellcheck disable=SC2016
check_and_exec='if ! command -v "$1" >/dev/null 2>&1; then
  printf "claude-sandbox: the agent %s was not found inside the sandbox.\n" "$1" >&2
  printf "Looked on PATH=%s\n" "$PATH" >&2
  echo "Add it to the launcher (agentPackages or extraPackages) or pass its full path with --agent." >&2
  exit 127
fi
exec "$@"'

die_usage() {
  printf '%s: %s\n\n' "$launcher_name" "$1" >&2
  usage >&2
  exit 2
}

die() {
  printf '%s: %s\n' "$launcher_name" "$1" >&2
  exit "${2:-1}"
}

# parse_contract "$@": fills the variables above, or exits 2 with the usage.
# The VM flags are accepted only when vm_flags=1.
parse_contract() {
  while [ $# -gt 0 ]; do
    case "$1" in
      -h | --help)
        usage
        exit 0
        ;;
      --)
        shift
        break
        ;;
    esac
    if [ -n "$project" ]; then
      die_usage "unexpected '$1' after PROJECT_DIR (agent arguments go after --)"
    fi
    case "$1" in
      --no-network) network=0 ;;
      --shell) shell_mode=1 ;;
      --agent)
        [ $# -ge 2 ] || die_usage "--agent needs a command"
        agent=$2
        shift
        ;;
      --agent=*) agent=${1#--agent=} ;;
      --headless)
        [ "$vm_flags" = 1 ] || die_usage "unknown option '$1'"
        # shellcheck disable=SC2034 # read by vm.sh only
        headless=1
        ;;
      --qmp)
        [ "$vm_flags" = 1 ] || die_usage "unknown option '$1'"
        [ $# -ge 2 ] || die_usage "--qmp needs a socket path"
        # shellcheck disable=SC2034 # read by vm.sh only
        qmp_socket=$2
        shift
        ;;
      -?*) die_usage "unknown option '$1'" ;;
      *) project=$1 ;;
    esac
    shift
  done
  agent_args=("$@")
  [ -n "$project" ] || die_usage "PROJECT_DIR is missing"
  [ -n "$agent" ] || die_usage "--agent is empty"
}

# resolve_project HOME_DIR: make $project absolute and real, and refuse the
# home itself or a folder holding it (the whole home would be writable).
resolve_project() {
  local home=$1
  case "$project" in
    /*) ;;
    *) die_usage "PROJECT_DIR must be an absolute path, not '$project'" ;;
  esac
  [ -d "$project" ] || die "PROJECT_DIR '$project' is not an existing directory" 2
  project=$(realpath -- "$project")
  home=$(realpath -- "$home")
  if [ "$home" = "$project" ] || [[ "$home" == "${project%/}/"* ]]; then
    die "PROJECT_DIR '$project' is your home or holds it: the whole home would be writable inside the sandbox; choose the project's own folder" 2
  fi
}

# The command the sandbox runs: the agent, or a shell with --shell.
sandbox_command() {
  if [ "$shell_mode" = 1 ]; then
    command_argv=(bash)
  else
    command_argv=("$agent" "${agent_args[@]}")
  fi
}

# forwarded_env: NAME=VALUE lines of the caller's environment that the
# sandbox keeps (terminal, locale, the sandbox's own variables, Claude and
# Anthropic settings); everything else stays out, secrets included.
forwarded_env() {
  local name
  for name in $(compgen -e); do
    case "$name" in
      TERM | COLORTERM | TERM_PROGRAM | LANG | LANGUAGE | TZ | EDITOR | VISUAL | PAGER | NO_COLOR | FORCE_COLOR | LC_* | CLAUDE_* | ANTHROPIC_*)
        printf '%s=%s\0' "$name" "${!name}"
        ;;
    esac
  done
}

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
#   LAUNCHER [--no-network] [--shell] [--ssh-agent] [--claude-config DIR]
#            [--hooks DIR] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]
# and the VM launcher adds --headless --qmp SOCKET.
#
# What every launcher makes of it (hostd's built-in launcher too,
# hostd/sandbox/bwrap_binds.py, so a sandbox is one thing whatever runs it):
# - --claude-config DIR: the sandbox's own Claude config folder, read-write at
#   its own path, CLAUDE_CONFIG_DIR=DIR inside; the person's config entries
#   not in claude_state_names below read-only at DIR/<name>, their
#   .credentials.json read-write as that one file, their .claude.json copied.
#   Without it nothing of the person's Claude config is visible.
# - --hooks DIR: the sandbox's hooks folder (hostd's, in its runtime folder,
#   for a Claude Code agent): DIR read-only at its own path and DIR/events
#   read-write on top (Claude Code's hook writes its events there and reads
#   hostd's answers in DIR/answers); nothing else of hostd's runtime folder.
# - --ssh-agent: the agent socket at /run/claude-sandbox/ssh-agent.sock.
# - ~/.ssh: known_hosts, config and *.pub only, read-only; no private key.
# - <project>/.git: see git_protection below.

# -- the parsed command line ---------------------------------------------------
network=1
shell_mode=0
# shellcheck disable=SC2034 # read by vm.sh only
headless=0
# shellcheck disable=SC2034 # read by vm.sh only
qmp_socket=""
ssh_agent=0
claude_config=""
hooks=""
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
      --ssh-agent) ssh_agent=1 ;;
      --claude-config)
        [ $# -ge 2 ] || die_usage "--claude-config needs a folder"
        claude_config=$2
        shift
        ;;
      --claude-config=*) claude_config=${1#--claude-config=} ;;
      --hooks)
        [ $# -ge 2 ] || die_usage "--hooks needs a folder"
        hooks=$2
        shift
        ;;
      --hooks=*) hooks=${1#--hooks=} ;;
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

warn() {
  printf '%s: %s\n' "$launcher_name" "$1" >&2
}

# as_caller CMD...: run CMD as the person the sandbox is for. The bubblewrap
# and VM launchers run as that person, so it is CMD itself; the container
# launcher, root, redefines it to drop to the person (setpriv), so that what
# it reads of their files it reads with their rights, never root's.
# shellcheck disable=SC2317 # redefined (so unreachable) in container.sh
as_caller() {
  "$@"
}

# real_dir PATH: PATH's real path (as the caller), or nothing if it is not
# a folder the caller reaches.
real_dir() {
  local real
  real=$(as_caller realpath -e -- "$1" 2>/dev/null) || return 0
  if [ -d "$real" ]; then
    printf '%s' "$real"
  fi
}

# holds A B: A is B or a folder holding B.
holds() {
  [ "$1" = "$2" ] || [[ "$2" == "${1%/}/"* ]]
}

# resolve_project HOME_DIR: make $project absolute and real, and refuse the
# home itself or a folder holding it (the whole home would be writable).
resolve_project() {
  local home=$1 real
  case "$project" in
    /*) ;;
    *) die_usage "PROJECT_DIR must be an absolute path, not '$project'" ;;
  esac
  real=$(real_dir "$project")
  [ -n "$real" ] || die "PROJECT_DIR '$project' is not an existing directory" 2
  project=$real
  home=$(realpath -- "$home")
  if holds "$project" "$home"; then
    die "PROJECT_DIR '$project' is your home or holds it: the whole home would be writable inside the sandbox; choose the project's own folder" 2
  fi
}

# -- the Claude config ------------------------------------------------------------
# The sandbox's own state, kept in its --claude-config folder and never taken
# from the person's folder (.claude.json and .credentials.json are handled
# on their own: copied, and bound as one file).
claude_state_names=(projects todos shell-snapshots statsig history.jsonl ide session-env
  file-history debug plans logs .claude.json .credentials.json)

is_claude_state() {
  local name
  for name in "${claude_state_names[@]}"; do
    [ "$1" = "$name" ] && return 0
  done
  return 1
}

# resolve_claude_config HOME_DIR PERSON_DIR (after resolve_project): refuse a
# project holding the person's own Claude folder; make $claude_config real
# (when given), and refuse a folder that is, holds or is inside the person's
# own Claude folder, holds their home or overlaps the project.
resolve_claude_config() {
  local home=$1 person=$2 real
  person=$(real_dir "$person")
  if [ -n "$person" ] && holds "$project" "$person"; then
    die "PROJECT_DIR '$project' holds your Claude folder '$person': it would be writable inside the sandbox" 2
  fi
  [ -n "$claude_config" ] || return 0
  case "$claude_config" in
    /*) ;;
    *) die_usage "--claude-config needs an absolute path, not '$claude_config'" ;;
  esac
  real=$(real_dir "$claude_config")
  [ -n "$real" ] || die "--claude-config '$claude_config' is not an existing directory" 2
  claude_config=$real
  home=$(realpath -- "$home")
  if holds "$claude_config" "$home"; then
    die "--claude-config '$claude_config' is your home or holds it" 2
  fi
  if [ -n "$person" ] && { holds "$person" "$claude_config" || holds "$claude_config" "$person"; }; then
    die "--claude-config '$claude_config' is your own Claude folder '$person', inside it or holds it: the sandbox needs a folder of its own" 2
  fi
  if holds "$project" "$claude_config" || holds "$claude_config" "$project"; then
    die "--claude-config '$claude_config' and PROJECT_DIR '$project' overlap: give the sandbox's Claude folder a place of its own" 2
  fi
}

# resolve_hooks HOME_DIR PERSON_DIR (after resolve_claude_config): make $hooks
# real (when given), refuse a symlink (where the folder or its events/ is
# expected: a bind lands on a link's target) and a folder that holds the home
# or overlaps the project, the sandbox's Claude folder or the person's own.
resolve_hooks() {
  local home=$1 person=$2 real other
  [ -n "$hooks" ] || return 0
  case "$hooks" in
    /*) ;;
    *) die_usage "--hooks needs an absolute path, not '$hooks'" ;;
  esac
  if [ -L "$hooks" ] || [ -L "$hooks/events" ]; then
    die "--hooks '$hooks' (or its events folder) is a symlink" 2
  fi
  real=$(real_dir "$hooks")
  [ -n "$real" ] || die "--hooks '$hooks' is not an existing directory" 2
  [ -d "$real/events" ] || die "--hooks '$hooks' has no events folder" 2
  hooks=$real
  home=$(realpath -- "$home")
  if holds "$hooks" "$home"; then
    die "--hooks '$hooks' is your home or holds it" 2
  fi
  person=$(real_dir "$person")
  for other in "$project" "$claude_config" "$person"; do
    [ -n "$other" ] || continue
    if holds "$hooks" "$other" || holds "$other" "$hooks"; then
      die "--hooks '$hooks' overlaps '$other': the sandbox's hooks folder needs a place of its own" 2
    fi
  done
}

# claude_json_into_config SOURCE: the first start of a sandbox copies the
# person's .claude.json into its folder (DIR/.claude.json, the copy Claude
# Code reads with CLAUDE_CONFIG_DIR=DIR); later starts keep the sandbox's own
# (it is sandbox state). Written under a new name and renamed into place, so
# that whatever the sandbox left at that name (a symlink to a file outside,
# say) is replaced, never written through. Runs as the caller.
claude_json_into_config() {
  local source=$1 dest=$claude_config/.claude.json tmp
  [ -n "$claude_config" ] && [ -f "$source" ] || return 0
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    return 0
  fi
  # mktemp makes a new file (0600, never an existing name the sandbox could
  # have left as a symlink); cp fills it, mv puts it in place.
  tmp=$(as_caller mktemp -- "$dest.XXXXXX") || {
    warn "could not copy $source into $dest"
    return 0
  }
  if ! as_caller cp -- "$source" "$tmp" || ! as_caller mv -f -- "$tmp" "$dest"; then
    warn "could not copy $source into $dest"
    as_caller rm -f -- "$tmp"
  fi
}

# claude_config_entries PERSON_DIR: NUL-separated names of the person's
# entries that are visible read-only at DIR/<name>: everything but the
# sandbox's own state. Listed as the caller.
claude_config_entries() {
  local name
  [ -n "$claude_config" ] && [ -d "$1" ] || return 0
  while IFS= read -r -d '' name; do
    is_claude_state "$name" || printf '%s\0' "$name"
  done < <(as_caller find "$1" -mindepth 1 -maxdepth 1 -printf '%f\0')
}

# config_mount_point_ok SOURCE DEST: DEST (inside the sandbox's folder, where
# the person's SOURCE goes) can take a mount of SOURCE: no symlink (it would
# lead the mount elsewhere) and no folder/file mismatch. The sandbox can leave
# anything there; what it left is skipped with a message, never followed.
# shellcheck disable=SC2317 # used by bubblewrap.sh and container.sh, not vm.sh
config_mount_point_ok() {
  local source=$1 dest=$2
  if [ -L "$dest" ]; then
    warn "skipping $(basename -- "$dest"): $dest is a symlink"
    return 1
  fi
  local source_kind=file dest_kind=file
  [ -d "$source" ] && source_kind=folder
  [ -d "$dest" ] && dest_kind=folder
  if [ -e "$dest" ] && [ "$source_kind" != "$dest_kind" ]; then
    warn "skipping $(basename -- "$dest"): $dest is in the way (a file where a folder goes, or the reverse)"
    return 1
  fi
}

# -- ~/.ssh -----------------------------------------------------------------------
# ssh_public_names SSH_DIR: NUL-separated names of the files of ~/.ssh that a
# sandbox sees (read-only): known_hosts, config and public keys. Never a
# private key.
ssh_public_names() {
  local path name
  [ -d "$1" ] || return 0
  for path in "$1"/known_hosts "$1"/config "$1"/*.pub; do
    name=${path##*/}
    if [ -f "$path" ]; then
      printf '%s\0' "$name"
    fi
  done
}

# git_config_names CONFIG_GIT_DIR: NUL-separated names of the entries of
# ~/.config/git a sandbox sees (read-only): all but `credentials`, where git's
# credential store keeps tokens in clear.
git_config_names() {
  local name
  [ -d "$1" ] || return 0
  while IFS= read -r -d '' name; do
    [ "$name" = credentials ] || printf '%s\0' "$name"
  done < <(as_caller find "$1" -mindepth 1 -maxdepth 1 -printf '%f\0')
}

# ssh_agent_socket: the caller's agent socket when --ssh-agent asked for it
# and the launcher may forward it (with_ssh_agent), else nothing. Says why
# on stderr when asked for and not given.
# shellcheck disable=SC2317 # used by bubblewrap.sh and container.sh, not vm.sh
ssh_agent_socket() {
  [ "$ssh_agent" = 1 ] || return 0
  if [ "${with_ssh_agent:-0}" != 1 ]; then
    warn "--ssh-agent: this launcher was built without withSshAgent; no agent forwarded"
  elif [ -z "${SSH_AUTH_SOCK:-}" ]; then
    warn "--ssh-agent: SSH_AUTH_SOCK is not set; no agent forwarded"
  elif [ ! -S "$SSH_AUTH_SOCK" ]; then
    warn "--ssh-agent: SSH_AUTH_SOCK '$SSH_AUTH_SOCK' is not a socket; no agent forwarded"
  else
    printf '%s' "$SSH_AUTH_SOCK"
  fi
}
# shellcheck disable=SC2034 # read by bubblewrap.sh and container.sh, not vm.sh
ssh_agent_inside=/run/claude-sandbox/ssh-agent.sock

# -- the project's .git -------------------------------------------------------------
# git_protection: what of "$project/.git" the sandbox must not change, so that
# nothing the agent writes runs later when the person uses git outside:
#   git_self  folders bound onto themselves (read-write, but a mount point:
#             the agent cannot rename .git away or put another in its place);
#   git_ro    files and folders bound read-only at their own paths (config
#             and hooks: what git runs or obeys).
# .git as a folder: itself in git_self; .git/config, .git/hooks (made, empty,
# when missing), .git/commondir (made, ".", when missing) and
# .git/config.worktree (when present) in git_ro.
# .git as a file (a worktree): that file, and the config, config.worktree and
# hooks of the gitdir it names and of that gitdir's commondir, when they are
# folders the caller reaches, in git_ro.
# A symlink where one of these is expected cannot be protected (a bind mount
# lands on its target; the link itself stays replaceable): refused.
git_self=()
git_ro=()
git_protection() {
  local git=$project/.git line gitdir common name
  git_self=()
  git_ro=()
  if [ -L "$git" ]; then
    die "$git is a symlink: the sandbox could replace it (and with it the hooks git runs outside); make it a folder or a gitdir file" 2
  elif [ -d "$git" ]; then
    for name in config hooks config.worktree commondir; do
      if [ -L "$git/$name" ]; then
        die "$git/$name is a symlink: it cannot be kept read-only in the sandbox" 2
      fi
    done
    if [ ! -e "$git/hooks" ]; then
      as_caller mkdir -m 0755 -- "$git/hooks" || die "could not make $git/hooks"
    fi
    # git reads $GIT_DIR/commondir in any repository, a main one too, and then
    # takes config and hooks from the folder it names: an agent that wrote one
    # pointing at a folder of its own would have its hooks run outside. A
    # commondir of "." names the .git folder itself (git's own meaning for a
    # main repository), so one is made when missing and kept read-only.
    if [ ! -e "$git/commondir" ]; then
      printf '.\n' | as_caller tee -- "$git/commondir" >/dev/null || die "could not make $git/commondir"
    fi
    git_self+=("$git")
    [ -f "$git/config" ] && git_ro+=("$git/config")
    git_ro+=("$git/hooks")
    [ -f "$git/commondir" ] && git_ro+=("$git/commondir")
    [ -f "$git/config.worktree" ] && git_ro+=("$git/config.worktree")
  elif [ -f "$git" ]; then
    git_ro+=("$git")
    line=$(as_caller head -n 1 -- "$git" 2>/dev/null) || line=""
    case "$line" in
      "gitdir: "*) gitdir=${line#gitdir: } ;;
      *) return 0 ;;
    esac
    case "$gitdir" in
      /*) ;;
      *) gitdir=$project/$gitdir ;;
    esac
    gitdir=$(real_dir "$gitdir")
    [ -n "$gitdir" ] || return 0
    git_dir_parts "$gitdir"
    if [ -f "$gitdir/commondir" ] && [ ! -L "$gitdir/commondir" ]; then
      common=$(as_caller head -n 1 -- "$gitdir/commondir" 2>/dev/null) || common=""
      [ -n "$common" ] || return 0
      case "$common" in
        /*) ;;
        *) common=$gitdir/$common ;;
      esac
      common=$(real_dir "$common")
      [ -n "$common" ] && git_dir_parts "$common"
    fi
  fi
  return 0
}

# git_dir_parts GITDIR: its config, config.worktree and hooks into git_ro
# (those present and no symlink).
git_dir_parts() {
  local name
  for name in config config.worktree hooks; do
    if [ -L "$1/$name" ]; then
      die "$1/$name is a symlink: it cannot be kept read-only in the sandbox" 2
    fi
    if [ -e "$1/$name" ]; then
      git_ro+=("$1/$name")
    fi
  done
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
# Anthropic settings, and the names the person lists for this host in
# CLAUDE_SANDBOX_PASS_ENV, as hostd does); everything else stays out,
# secrets included.
forwarded_env() {
  local name list=${CLAUDE_SANDBOX_PASS_ENV:-}
  local named=" ${list//,/ } "
  for name in $(compgen -e); do
    case "$name" in
      # The person's own Claude folder is no business of the sandbox's: with
      # --claude-config the launcher sets CLAUDE_CONFIG_DIR to the sandbox's.
      # The list itself, and what the launcher sets, can never be passed.
      CLAUDE_CONFIG_DIR | CLAUDE_SANDBOX_PASS_ENV | SSH_AUTH_SOCK | DISPLAY | XAUTHORITY | HOME) ;;
      TERM | COLORTERM | TERM_PROGRAM | LANG | LANGUAGE | TZ | EDITOR | VISUAL | PAGER | NO_COLOR | FORCE_COLOR | LC_* | CLAUDE_* | ANTHROPIC_*)
        printf '%s=%s\0' "$name" "${!name}"
        ;;
      *)
        if [[ "$named" == *" $name "* ]]; then
          printf '%s=%s\0' "$name" "${!name}"
        fi
        ;;
    esac
  done
}

# claude-sandbox-container: the systemd-nspawn launcher.
#
#   sudo claude-sandbox-container [--no-network] [--shell] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]
#
# callPackage-able; the same parameters as bubblewrap.nix. The agent is
# whatever --agent names (default `claude`), found on the container's PATH,
# which holds agentPackages, Chromium, extraPackages and a small base;
# hostd's closure never contains it. Needs root: hostd runs it with sudo -n.
#
# Each with* switch decides whether a kind of host resource may be
# forwarded; the script forwards it only when the host has it at run time.
{
  lib,
  callPackage,
  writeShellApplication,
  systemd,
  coreutils,
  getent,

  # Programs that provide the agent (the flake passes Claude Code).
  agentPackages ? [ ],
  # More programs on the sandbox's PATH.
  extraPackages ? [ ],
  defaultAgent ? "claude",
  withChromium ? true,
  withX11 ? true,
  withWayland ? true,
  # Off by default: the session bus reaches systemd --user, which can start
  # processes outside the sandbox.
  withDbus ? false,
  withGpu ? true,
  withAudio ? true,
  withSshAgent ? true,
  withNixDaemon ? true,
}:

let
  launcherLib = callPackage ./launcher-lib.nix { };
  env = launcherLib.sandboxEnv {
    inherit
      agentPackages
      extraPackages
      withChromium
      withNixDaemon
      ;
  };
  settings = launcherLib.settings {
    file = "container.nix";
    inherit
      env
      defaultAgent
      withChromium
      withX11
      withWayland
      withDbus
      withGpu
      withAudio
      withSshAgent
      withNixDaemon
      ;
  };
in
writeShellApplication {
  name = "claude-sandbox-container";
  runtimeInputs = [
    systemd
    coreutils
    getent
  ];
  text = settings + builtins.readFile ./common.sh + builtins.readFile ./container.sh;
  passthru = { inherit env; };
  meta = {
    description = "Run a coding agent in a systemd-nspawn container (the claude-sandbox launcher contract)";
    mainProgram = "claude-sandbox-container";
    platforms = lib.platforms.linux;
  };
}

# claude-sandbox: the bubblewrap launcher.
#
#   claude-sandbox [--no-network] [--shell] [--ssh-agent] [--claude-config DIR]
#                  [--hooks DIR] [--agent CMD] PROJECT_DIR [-- AGENT_ARGS...]
#
# callPackage-able. The agent is whatever --agent names (default `claude`),
# found on the sandbox's PATH, which holds agentPackages, Chromium,
# extraPackages and a small base; hostd's closure never contains it.
#
# Each with* switch decides whether a kind of host resource may be
# forwarded; the script forwards it only when the host has it at run time.
{
  lib,
  callPackage,
  writeShellApplication,
  bubblewrap,
  coreutils,
  findutils,
  getent,

  # Programs that provide the agent (the flake passes Claude Code).
  agentPackages ? [ ],
  # More programs on the sandbox's PATH.
  extraPackages ? [ ],
  defaultAgent ? "claude",
  withChromium ? true,
  # The X display hostd gives the sandbox (its own Xvfb): the socket of that
  # display and its cookie only.
  withX11 ? true,
  # The switches below are off by default: each hands the agent something of
  # the person's desktop or of the host beyond its sandbox.
  # Wayland: the agent can read the clipboard and draw windows on the
  # person's desktop (the compositor's socket is the whole session's).
  withWayland ? false,
  # D-Bus session bus: it reaches systemd --user, which can start processes
  # outside the sandbox.
  withDbus ? false,
  # GPU (/dev/dri, NVIDIA devices, /run/opengl-driver): the drivers' kernel
  # interfaces, a large attack surface, and what other programs leave in
  # GPU memory.
  withGpu ? false,
  # Audio (PulseAudio, PipeWire sockets): it can play sound and record from
  # the microphone, and the sound server's other clients are reachable.
  withAudio ? false,
  # Allows --ssh-agent (the agent socket only when hostd asks for it, per
  # sandbox): while it runs the agent can sign with every key the SSH agent
  # holds. false: --ssh-agent is ignored with a message.
  withSshAgent ? true,
  # The Nix daemon's socket (and nix inside): the agent can build and run
  # derivations as the daemon's build users, fetch from the network through
  # the daemon even with --no-network, and fill the store.
  withNixDaemon ? false,
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
    file = "bubblewrap.nix";
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
  name = "claude-sandbox";
  runtimeInputs = [
    bubblewrap
    coreutils
    findutils
    getent
  ];
  text = settings + builtins.readFile ./common.sh + builtins.readFile ./bubblewrap.sh;
  passthru = { inherit env; };
  meta = {
    description = "Run a coding agent in a bubblewrap sandbox (the claude-sandbox launcher contract)";
    mainProgram = "claude-sandbox";
    platforms = lib.platforms.linux;
  };
}

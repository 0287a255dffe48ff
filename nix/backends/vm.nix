# claude-sandbox-vm: the QEMU launcher, booting a NixOS VM.
#
#   claude-sandbox-vm [--headless] [--qmp SOCKET] [--no-network] [--shell] [--ssh-agent]
#                     [--claude-config DIR] [--hooks DIR] [--agent CMD] PROJECT_DIR
#                     [-- AGENT_ARGS...]
#
# The guest has no Wayland, audio, GPU or host Nix daemon (its own screen,
# a virtual GPU, its own daemon on the shared store), so this launcher has
# none of the other launchers' with* switches; --ssh-agent is ignored with a
# message (a socket cannot cross 9p).
#
# callPackage-able. The guest (vm-guest.nix) is built from this nixpkgs with
# the agent (agentPackages), Chromium and extraPackages installed, plus any
# extraModules; the runner is nixpkgs' own (virtualisation/qemu-vm.nix), so
# the host's Nix store is shared read-only and nothing needs a disk image.
{
  lib,
  nixos,
  writeShellApplication,
  coreutils,
  diffutils,
  findutils,
  getent,

  agentPackages ? [ ],
  extraPackages ? [ ],
  # NixOS modules added to the guest (more services, a different desktop).
  extraModules ? [ ],
  defaultAgent ? "claude",
  withChromium ? true,
  memorySize ? 4096,
  cores ? 2,
  resolution ? {
    x = 1920;
    y = 1080;
  },
}:

let
  guest = nixos (
    [
      (import ./vm-guest.nix {
        inherit
          agentPackages
          extraPackages
          withChromium
          memorySize
          cores
          resolution
          ;
      })
    ]
    ++ extraModules
  );
  runner = "${guest.vm}/bin/run-${guest.config.system.name}-vm";

  settings = ''
    # Settings from nix/backends/vm.nix
    default_agent=${lib.escapeShellArg defaultAgent}
    vm_runner=${runner}
  '';
in
writeShellApplication {
  name = "claude-sandbox-vm";
  runtimeInputs = [
    coreutils
    diffutils
    findutils
    getent
  ];
  text = settings + builtins.readFile ./common.sh + builtins.readFile ./vm.sh;
  passthru = { inherit guest; };
  meta = {
    description = "Run a coding agent in a QEMU NixOS VM (the claude-sandbox launcher contract)";
    mainProgram = "claude-sandbox-vm";
    platforms = lib.platforms.linux;
  };
}

# programs.claude-sandbox: the isolation backends (launchers) on a NixOS host.
#
#   programs.claude-sandbox = {
#     enable = true;
#     backends = [ "bubblewrap" "container" "vm" ];
#     extraPackages = [ pkgs.nodejs pkgs.python3 ];
#   };
#
# Puts claude-sandbox, claude-sandbox-container and claude-sandbox-vm (those
# chosen) on the system PATH, built with this host's nixpkgs. hostd.nix
# imports this module; it can also be used alone, to run the launchers by hand.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.programs.claude-sandbox;
  inherit (lib) mkOption types;

  shared = {
    inherit (cfg) agentPackages extraPackages defaultAgent;
  };
  # The host resources the bubblewrap and container launchers may forward
  # (the VM has none of them); settings can still override each launcher.
  desktop = {
    inherit (cfg)
      withWayland
      withAudio
      withGpu
      withNixDaemon
      ;
  };
  launchers = {
    bubblewrap = pkgs.callPackage ../backends/bubblewrap.nix (
      shared // desktop // cfg.bubblewrap.settings
    );
    container = pkgs.callPackage ../backends/container.nix (
      shared // desktop // cfg.container.settings
    );
    vm = pkgs.callPackage ../backends/vm.nix (
      shared
      // {
        inherit (cfg.vm) extraModules memorySize cores;
      }
      // cfg.vm.settings
    );
  };

  settingsOption =
    file:
    mkOption {
      type = types.attrsOf types.anything;
      default = { };
      example = lib.literalExpression "{ withDbus = true; withGpu = false; }";
      description = "More arguments for nix/backends/${file} (its with* switches, for instance).";
    };
in
{
  options.programs.claude-sandbox = {
    enable = lib.mkEnableOption "the claude-sandbox isolation backends (the launchers hostd runs)";

    backends = mkOption {
      type = types.listOf (
        types.enum [
          "bubblewrap"
          "container"
          "vm"
        ]
      );
      default = [ "bubblewrap" ];
      description = ''
        Which launchers to install: `bubblewrap` (claude-sandbox),
        `container` (claude-sandbox-container, systemd-nspawn, needs root)
        and `vm` (claude-sandbox-vm, a QEMU NixOS VM; the person needs
        access to /dev/kvm for speed, e.g. the kvm group).
      '';
    };

    agentPackages = mkOption {
      type = types.listOf types.package;
      default = [ pkgs.claude-code ];
      defaultText = lib.literalExpression "[ pkgs.claude-code ]";
      description = ''
        Programs that provide the agent inside every sandbox. Claude Code is
        unfree: allow it (`nixpkgs.config.allowUnfreePredicate = p:
        lib.getName p == "claude-code";`) or set this to other agents.
        hostd's own package never contains them.
      '';
    };

    defaultAgent = mkOption {
      type = types.str;
      default = "claude";
      description = "The agent a launcher runs when not given --agent.";
    };

    extraPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
      example = lib.literalExpression "[ pkgs.nodejs pkgs.python3 pkgs.gnumake ]";
      description = "More programs on the PATH inside every sandbox.";
    };

    # Off by default, each: what it hands the agent is in its description.
    # For the bubblewrap and container launchers (the VM has none of them).
    withWayland = lib.mkEnableOption ''
      the person's Wayland socket in the sandboxes. The agent can then read
      the clipboard and draw windows on the person's desktop
    '';
    withAudio = lib.mkEnableOption ''
      the PulseAudio and PipeWire sockets in the sandboxes. The agent can
      then play sound and record from the microphone
    '';
    withGpu = lib.mkEnableOption ''
      the GPU (/dev/dri, NVIDIA devices, /run/opengl-driver) in the
      sandboxes. The agent then reaches the drivers' kernel interfaces, a
      large attack surface, and what other programs leave in GPU memory
    '';
    withNixDaemon = lib.mkEnableOption ''
      the Nix daemon's socket (and nix) in the sandboxes. The agent can then
      build and run derivations as the daemon's build users, fetch through
      the daemon even without network, and fill the store
    '';

    bubblewrap.settings = settingsOption "bubblewrap.nix";
    container.settings = settingsOption "container.nix";

    vm = {
      extraModules = mkOption {
        type = types.listOf types.deferredModule;
        default = [ ];
        description = "NixOS modules added to the VM's guest system.";
      };
      memorySize = mkOption {
        type = types.ints.positive;
        default = 4096;
        description = "The VM's memory in MiB.";
      };
      cores = mkOption {
        type = types.ints.positive;
        default = 2;
        description = "The VM's virtual CPUs.";
      };
      settings = settingsOption "vm.nix";
    };

    packages = mkOption {
      type = types.attrsOf types.package;
      readOnly = true;
      default = lib.genAttrs (lib.unique cfg.backends) (b: launchers.${b});
      defaultText = lib.literalMD "the launchers of `backends`";
      description = "The launcher packages installed, by backend (for other modules to refer to).";
    };
  };

  config = lib.mkIf cfg.enable {
    environment.systemPackages = lib.attrValues cfg.packages;
  };
}

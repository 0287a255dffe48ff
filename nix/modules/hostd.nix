# services.claude-sandbox-hostd: the server side of claude-sandbox.
#
#   services.claude-sandbox-hostd = {
#     enable = true;
#     backends = [ "bubblewrap" "container" ];
#     containerSudo = { enable = true; users = [ "ann" ]; };
#   };
#
# hostd is not a daemon: a client starts it over SSH (`ssh host
# claude-sandbox-hostd`) and it lives as long as that connection. So this
# module only puts hostd, Xvfb, tmux and the chosen launchers on the PATH
# that SSH sessions get, and, if asked, lets hostd run the container
# launcher through sudo without a password. What the launchers may forward
# of the host (Wayland, audio, GPU, the Nix daemon: all off by default) is
# programs.claude-sandbox.with* (sandbox.nix), which this module imports.
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.services.claude-sandbox-hostd;
  inherit (lib) mkOption types;
  container = config.programs.claude-sandbox.packages.container or null;
  # What the container launcher needs from the caller's environment; sudo's
  # env_reset would drop it. It takes no path from it as root but the X
  # cookie (read as the caller) and the agent socket (one the caller owns);
  # the runtime folder it derives from the caller's uid.
  keptEnv = [
    "DISPLAY"
    "XAUTHORITY"
    "WAYLAND_DISPLAY"
    "SSH_AUTH_SOCK"
    "CLAUDE_SANDBOX_ID"
    "CLAUDE_SANDBOX_NAME"
    "TERM"
    "COLORTERM"
    "LANG"
    "LC_*"
  ];
  containerCommands = [
    "/run/current-system/sw/bin/claude-sandbox-container"
  ] ++ lib.optional (container != null) (lib.getExe container);
in
{
  imports = [ ./sandbox.nix ];

  options.services.claude-sandbox-hostd = {
    enable = lib.mkEnableOption "claude-sandbox hostd, with Xvfb, tmux and the chosen backends, on the PATH of SSH sessions";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../package.nix { withApp = false; };
      defaultText = lib.literalMD "hostd alone, from this flake (no Qt in its closure)";
      description = "The hostd package.";
    };

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
        The launchers to install (see programs.claude-sandbox.backends, which
        this sets). Empty: only the `none` backend (no isolation) and
        whatever launchers are on the PATH otherwise.
      '';
    };

    containerSudo = {
      enable = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Let `users` run claude-sandbox-container as root without a password:
          systemd-nspawn needs root, and hostd runs the launcher with
          `sudo -n`. The launcher runs the agent as the calling user. Off by
          default: it is a root-owned program on their command.
        '';
      };
      users = mkOption {
        type = types.listOf types.str;
        default = [ ];
        example = [ "ann" ];
        description = "Who may run the container launcher through sudo.";
      };
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        environment.systemPackages = [
          cfg.package
          pkgs.tmux
          pkgs.xorg.xvfb
        ];
        programs.claude-sandbox = lib.mkIf (cfg.backends != [ ]) {
          enable = true;
          inherit (cfg) backends;
        };
        assertions = [
          {
            assertion = cfg.containerSudo.enable -> lib.elem "container" cfg.backends;
            message = "services.claude-sandbox-hostd.containerSudo needs \"container\" in backends.";
          }
          {
            assertion = cfg.containerSudo.enable -> cfg.containerSudo.users != [ ];
            message = "services.claude-sandbox-hostd.containerSudo.users is empty.";
          }
        ];
      }
      (lib.mkIf cfg.containerSudo.enable {
        security.sudo.extraRules = [
          {
            inherit (cfg.containerSudo) users;
            commands = map (command: {
              inherit command;
              options = [ "NOPASSWD" ];
            }) containerCommands;
          }
        ];
        security.sudo.extraConfig = lib.concatMapStrings (command: ''
          Defaults!${command} env_keep += "${lib.concatStringsSep " " keptEnv}"
        '') containerCommands;
      })
    ]
  );
}

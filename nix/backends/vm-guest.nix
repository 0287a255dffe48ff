# The NixOS system that claude-sandbox-vm boots: a function of the
# launcher's parameters, returning a NixOS module (vm.nix evaluates it).
#
# At boot, claude-sandbox-prepare reads what the launcher left in the
# exchange folder (/tmp/xchg): it gives the `agent` user the host user's uid
# and gid (so files it writes in the shares are the person's), mounts the
# project at the same path as on the host (Claude's session folders are
# named after that path, and hostd finds them by it), ~/.claude read-write
# and ~/.ssh read-only, and copies ~/.claude.json and the git config in.
# claude-sandbox-agent then runs the agent on the serial console (the
# launcher's terminal), with the VM's X display, and powers the VM off when
# the agent ends, leaving its exit status in the exchange folder.
{
  agentPackages,
  extraPackages,
  withChromium,
  memorySize,
  cores,
  resolution,
}:
{
  lib,
  pkgs,
  modulesPath,
  ...
}:

let
  user = "agent";
  home = "/home/${user}";
  xchg = "/tmp/xchg";
  shares = "/mnt/claude-sandbox";

  prepare = pkgs.writeShellApplication {
    name = "claude-sandbox-prepare";
    runtimeInputs = [
      pkgs.coreutils
      pkgs.shadow
      pkgs.util-linux
    ];
    text = ''
      read -r uid gid <${xchg}/owner
      # Renumbered before anything is mounted in the home: usermod chowns
      # the home's contents, and must not reach into the host's folders.
      groupmod -o -g "$gid" ${user}
      usermod -o -u "$uid" -g "$gid" ${user}
      install -d -m 0700 -o "$uid" -g "$gid" ${home}/.claude ${home}/.ssh
      mount --bind ${shares}/claude ${home}/.claude
      mount --bind ${shares}/ssh ${home}/.ssh
      if [ -d ${xchg}/home ]; then
        cp -R --no-preserve=ownership ${xchg}/home/. ${home}/
        chown -R "$uid:$gid" ${home}/.claude.json ${home}/.gitconfig ${home}/.config 2>/dev/null || true
      fi
      project=$(cat ${xchg}/project)
      mkdir -p -- "$project"
      mount --bind /tmp/shared "$project"
    '';
  };

  runAgent = pkgs.writeShellApplication {
    name = "claude-sandbox-agent";
    runtimeInputs = [ pkgs.coreutils ];
    text = ''
      TERM=$(cat ${xchg}/term)
      export TERM
      while IFS= read -r -d "" pair; do
        export "''${pair?}"
      done <${xchg}/env
      if [ -s ${xchg}/tty-size ]; then
        read -r rows cols <${xchg}/tty-size
        stty rows "$rows" cols "$cols" || true
      fi
      mapfile -d "" -t argv <${xchg}/argv
      cd -- "$(cat ${xchg}/project)"
      status=0
      /bin/sh -c "$(cat ${xchg}/check-and-exec)" claude-sandbox "''${argv[@]}" || status=$?
      printf '%s' "$status" >${xchg}/exit-status
      exit "$status"
    '';
  };
in
{
  imports = [ (modulesPath + "/virtualisation/qemu-vm.nix") ];

  system.stateVersion = "25.05";
  networking.hostName = "claude-sandbox-vm";

  virtualisation = {
    # A tmpfs root: nothing of a run outlives it, and no disk image is left behind.
    diskImage = null;
    inherit memorySize cores resolution;
    graphics = true;
    # Kernel and boot messages go to the VM's screen; the serial console is
    # the agent's alone.
    qemu.consoles = [ "tty0" ];
    sharedDirectories = {
      claude = {
        source = ''"$CLAUDE_SANDBOX_VM_CLAUDE"'';
        target = "${shares}/claude";
        securityModel = "none";
      };
      ssh = {
        source = ''"$CLAUDE_SANDBOX_VM_SSH"'';
        target = "${shares}/ssh";
        securityModel = "none";
      };
    };
    fileSystems."${shares}/ssh".options = [ "ro" ];
  };

  users.groups.${user}.gid = 1000;
  users.users.${user} = {
    isNormalUser = true;
    uid = 1000;
    group = user;
  };

  environment.systemPackages =
    [
      pkgs.git
      pkgs.openssh
    ]
    ++ lib.optional withChromium pkgs.chromium
    ++ agentPackages
    ++ extraPackages;
  environment.variables = lib.mkIf withChromium {
    CHROME_PATH = lib.getExe pkgs.chromium;
    PUPPETEER_EXECUTABLE_PATH = lib.getExe pkgs.chromium;
  };

  # The VM's screen: an X session logged in as the agent's user.
  services.xserver = {
    enable = true;
    displayManager.lightdm.enable = true;
    windowManager.icewm.enable = true;
  };
  services.displayManager = {
    autoLogin = {
      enable = true;
      inherit user;
    };
    defaultSession = "none+icewm";
  };

  systemd.services."serial-getty@ttyS0".enable = false;

  systemd.services.claude-sandbox-prepare = {
    description = "Prepare the agent's world from the launcher's exchange folder";
    wantedBy = [ "multi-user.target" ];
    before = [
      "display-manager.service"
      "claude-sandbox-agent.service"
    ];
    unitConfig.RequiresMountsFor = [
      xchg
      "/tmp/shared"
      "${shares}/claude"
      "${shares}/ssh"
    ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = lib.getExe prepare;
    };
  };

  systemd.services.claude-sandbox-agent = {
    description = "The agent, on the serial console";
    wantedBy = [ "multi-user.target" ];
    requires = [ "claude-sandbox-prepare.service" ];
    after = [
      "claude-sandbox-prepare.service"
      "display-manager.service"
    ];
    path = [ "/run/current-system/sw" ];
    environment = {
      HOME = home;
      DISPLAY = ":0";
      XAUTHORITY = "${home}/.Xauthority";
    };
    serviceConfig = {
      User = user;
      ExecStart = lib.getExe runAgent;
      StandardInput = "tty-force";
      StandardOutput = "inherit";
      StandardError = "inherit";
      TTYPath = "/dev/ttyS0";
      TTYReset = true;
      TTYVHangup = true;
      # The agent ended (or never started): the VM has nothing more to do.
      ExecStopPost = "+${pkgs.systemd}/bin/systemctl poweroff --no-block";
    };
  };
}

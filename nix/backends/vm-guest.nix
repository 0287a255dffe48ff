# The NixOS system that claude-sandbox-vm boots: a function of the
# launcher's parameters, returning a NixOS module (vm.nix evaluates it).
#
# At boot, claude-sandbox-prepare reads what the launcher left in the
# exchange folder (/tmp/xchg): it gives the `agent` user the host user's uid
# and gid (so files it writes in the shares are the person's), mounts the
# project at the same path as on the host (Claude's session folders are
# named after that path, and hostd finds them by it) with .git onto itself
# and .git/config, .git/hooks read-only over it, the sandbox's Claude config
# folder (--claude-config) at its own path with the person's entries
# read-only in it, the hooks folder (--hooks) at its own path read-only with
# its events/ read-write, ~/.ssh (copies of its public files) read-only, and copies
# ~/.claude.json and the git config in. These mounts are the guest's: they
# hold against the agent, an unprivileged user here (no sudo, no wheel), not
# against root in the guest, to whom the 9p shares are writable.
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
      install -d -m 0700 -o "$uid" -g "$gid" ${home}/.ssh
      # Copies of known_hosts, config and *.pub only (a read-only share).
      mount --bind ${shares}/ssh ${home}/.ssh
      if [ -d ${xchg}/home ]; then
        cp -R --no-preserve=ownership ${xchg}/home/. ${home}/
        chown -R "$uid:$gid" ${home}/.claude.json ${home}/.gitconfig ${home}/.config 2>/dev/null || true
      fi
      project=$(cat ${xchg}/project)
      mkdir -p -- "$project"
      mount --bind /tmp/shared "$project"

      # read_only PATH: PATH (a mount point already) read-only.
      read_only() {
        mount -o remount,bind,ro -- "$1"
      }
      # The project's .git (the lists the launcher computed): onto itself, so
      # the agent cannot rename it away, and config, hooks read-only, so that
      # nothing it writes runs when the person uses git outside. Only what
      # is under the project exists here.
      under_project() {
        case "$1" in
          "$project"/*) [ -e "$1" ] && [ ! -L "$1" ] ;;
          *) return 1 ;;
        esac
      }
      mapfile -d "" -t git_self <${xchg}/git-self
      for path in "''${git_self[@]}"; do
        if under_project "$path"; then
          mount --bind -- "$path" "$path"
        fi
      done
      mapfile -d "" -t git_ro <${xchg}/git-ro
      for path in "''${git_ro[@]}"; do
        if under_project "$path"; then
          mount --bind -- "$path" "$path"
          read_only "$path"
        fi
      done

      # The sandbox's own Claude config folder (--claude-config), at its path.
      if [ -s ${xchg}/claude-config ]; then
        dir=$(cat ${xchg}/claude-config)
        mkdir -p -- "$dir"
        mount --bind ${shares}/claude-config "$dir"
        # The person's entries, copied by the launcher, read-only over
        # DIR/<name> from a copy of the guest's own (root's).
        if [ -d ${xchg}/claude-ro ]; then
          install -d -m 0755 /run/claude-sandbox
          cp -R --no-preserve=ownership ${xchg}/claude-ro /run/claude-sandbox/claude-ro
          chmod -R a+rX,go-w /run/claude-sandbox/claude-ro
          for source in /run/claude-sandbox/claude-ro/* /run/claude-sandbox/claude-ro/.[!.]*; do
            [ -e "$source" ] || continue
            dest=$dir/''${source##*/}
            # What the sandbox left at that name: a symlink is never followed.
            [ -L "$dest" ] && continue
            if [ -d "$source" ]; then
              [ -e "$dest" ] || mkdir -- "$dest"
              [ -d "$dest" ] || continue
            else
              [ -e "$dest" ] || touch -- "$dest"
              [ -f "$dest" ] || continue
            fi
            mount --bind -- "$source" "$dest"
            read_only "$dest"
          done
        fi
        # The login: the launcher's copy, read-write, copied back after the VM.
        if [ -f ${xchg}/credentials.json ] && [ ! -L "$dir/.credentials.json" ]; then
          [ -e "$dir/.credentials.json" ] || touch -- "$dir/.credentials.json"
          mount --bind ${xchg}/credentials.json "$dir/.credentials.json"
        fi
      fi

      # The hooks folder (--hooks), at its path: read-only, so hook.sh,
      # settings.json and hostd's answers/ stay hostd's, and its events/
      # read-write over it, where the hook writes: files hostd reads as
      # data only (size capped, JSON checked), never runs.
      if [ -s ${xchg}/hooks ]; then
        dir=$(cat ${xchg}/hooks)
        mkdir -p -- "$dir"
        mount --bind ${shares}/hooks "$dir"
        read_only "$dir"
        if [ -d ${shares}/hooks/events ] && [ ! -L ${shares}/hooks/events ]; then
          mount --bind ${shares}/hooks/events "$dir/events"
        fi
      fi
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
      # The sandbox's own Claude config folder (an empty folder of the run's
      # without --claude-config, then not mounted further).
      claude-config = {
        source = ''"$CLAUDE_SANDBOX_VM_CLAUDE_CONFIG"'';
        target = "${shares}/claude-config";
        securityModel = "none";
      };
      # The sandbox's hooks folder (an empty folder of the run's without
      # --hooks, then not mounted further).
      hooks = {
        source = ''"$CLAUDE_SANDBOX_VM_HOOKS"'';
        target = "${shares}/hooks";
        securityModel = "none";
      };
      # Copies of ~/.ssh's known_hosts, config and *.pub: no private key.
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
      "${shares}/claude-config"
      "${shares}/hooks"
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

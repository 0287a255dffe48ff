# A NixOS VM test: hostd, installed by nix/modules/hostd.nix, driven over
# stdio through a whole sandbox lifecycle by a normal user, with the stub
# launcher of tests/stubs standing in for claude-sandbox (the VM test checks
# hostd and the module; the launchers' own isolation is tested on real bwrap
# in the pytest suite).
#
#   nix build .#checks.x86_64-linux.hostd-lifecycle
#
# It runs where Nix runs, not in CI; CI runs drive_hostd.py itself against
# the checkout's hostd (tests/test_nix.py).
{
  testers,
  writeShellScriptBin,
  python3,
  hostd,
}:

let
  stubLauncher = writeShellScriptBin "claude-sandbox" (builtins.readFile ../../tests/stubs/claude-sandbox);
in
testers.runNixOSTest {
  name = "claude-sandbox-hostd-lifecycle";

  nodes.machine = {
    imports = [ ../modules/hostd.nix ];
    services.claude-sandbox-hostd = {
      enable = true;
      package = hostd;
      # No launcher from the module: the stub below is claude-sandbox.
      backends = [ ];
    };
    environment.systemPackages = [
      stubLauncher
      python3
    ];
    users.users.ann = {
      isNormalUser = true;
      home = "/home/ann";
    };
    virtualisation.memorySize = 1024;
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")
    # The PATH an SSH session gets has hostd, Xvfb and tmux.
    machine.succeed("su - ann -c 'command -v claude-sandbox-hostd Xvfb tmux'")
    print(machine.succeed("su - ann -c 'python3 ${./drive_hostd.py} claude-sandbox-hostd'"))
  '';
}

{
  description = "claude-sandbox: many coding agents in isolated sandboxes on a Linux server, watched from one window";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f (pkgsFor system));

      # Claude Code, the default agent inside the launchers, is unfree. It is
      # allowed here by name and nothing else: the rest of the set stays as
      # strict as nixpkgs' default.
      pkgsFor =
        system:
        import nixpkgs {
          inherit system;
          config.allowUnfreePredicate = pkg: lib.getName pkg == "claude-code";
        };

      app = pkg: program: {
        type = "app";
        program = "${pkg}/bin/${program}";
      };
    in
    {
      packages = forAllSystems (
        pkgs:
        let
          backendArgs = {
            agentPackages = [ pkgs.claude-code ];
          };
        in
        {
          # The desktop app with hostd and claude-remote.
          default = pkgs.callPackage ./nix/package.nix { };
          # The server side alone: no Qt (nor any of the app's dependencies) in its closure.
          hostd = pkgs.callPackage ./nix/package.nix { withApp = false; };
          sandbox = pkgs.callPackage ./nix/backends/bubblewrap.nix backendArgs;
          container = pkgs.callPackage ./nix/backends/container.nix backendArgs;
          vm = pkgs.callPackage ./nix/backends/vm.nix backendArgs;
        }
      );

      apps = lib.genAttrs systems (
        system:
        let
          p = self.packages.${system};
        in
        {
          default = app p.default "claude-sandbox-gui";
          remote = app p.default "claude-remote";
          hostd = app p.hostd "claude-sandbox-hostd";
          sandbox = app p.sandbox "claude-sandbox";
          container = app p.container "claude-sandbox-container";
          vm = app p.vm "claude-sandbox-vm";
        }
      );

      nixosModules = {
        # Backends on a NixOS host: programs.claude-sandbox.
        sandbox = ./nix/modules/sandbox.nix;
        # The server side: services.claude-sandbox-hostd (imports sandbox).
        hostd = ./nix/modules/hostd.nix;
        default = self.nixosModules.hostd;
      };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.python3.withPackages (
              ps:
              let
                qemu-qmp = ps.callPackage ./nix/qemu-qmp.nix { };
              in
              [
                # hostd
                ps.psutil
                ps.libtmux
                ps.pillow
                qemu-qmp
                # app and claude-remote
                ps.pyside6
                ps.qasync
                ps.paramiko
                ps.pyte
                ps.watchdog
                # tests and checks
                ps.pytest
                ps.pytest-qt
                ps.pytest-timeout
                ps.mypy
                ps.types-psutil
                ps.types-paramiko
              ]
            ))
            pkgs.ruff
            pkgs.tmux
            pkgs.xorg.xvfb
            pkgs.xorg.xdpyinfo
            pkgs.xorg.xsetroot
            pkgs.rsync
            pkgs.openssh
            pkgs.bubblewrap
            pkgs.qemu
            pkgs.nix
            pkgs.shellcheck
            pkgs.nixfmt-rfc-style
          ];
          # qasync chooses among the Qt bindings it finds; this one has PySide6.
          QT_API = "pyside6";
          shellHook = ''
            echo "claude-sandbox dev shell: python -m pytest -q  (runs the suite from the checkout)"
          '';
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-rfc-style);

      checks = lib.genAttrs [ "x86_64-linux" ] (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          hostd-lifecycle = pkgs.callPackage ./nix/tests/hostd.nix {
            hostd = self.packages.${system}.hostd;
          };
          inherit (self.packages.${system}) hostd sandbox container;
        }
      );
    };
}

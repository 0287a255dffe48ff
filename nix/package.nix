# claude-sandbox from this checkout's pyproject.toml.
#
#   withApp = true   the desktop app (claude-sandbox-gui), claude-remote and hostd
#   withApp = false  hostd alone (claude-sandbox-hostd): none of the app's
#                    dependencies, so no Qt in its closure. This is what a
#                    server needs.
#
# The agent is not a dependency of either: it lives in the launchers
# (nix/backends), never in hostd's closure.
{
  lib,
  python3Packages,
  qt6,
  withApp ? true,
}:

let
  py = python3Packages;
  qemu-qmp = py.callPackage ./qemu-qmp.nix { };
  pyproject = lib.importTOML ../pyproject.toml;

  # Only what the Python build reads, so editing nix/ or tests/ does not
  # rebuild the package.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions (
      [
        ../pyproject.toml
        ../README.md
        ../hostd
        ../treesync
      ]
      ++ lib.optionals withApp [ ../app ]
    );
  };
in
py.buildPythonApplication {
  pname = if withApp then "claude-sandbox" else "claude-sandbox-hostd";
  inherit (pyproject.project) version;
  pyproject = true;
  inherit src;

  build-system = [ py.setuptools ];

  dependencies =
    [
      py.psutil
      py.libtmux
      py.pillow
      qemu-qmp
    ]
    ++ lib.optionals withApp [
      py.pyside6
      py.qasync
      py.paramiko
      py.pyte
      py.watchdog
    ];

  # The app extra names the PyPI wheel pyside6-essentials; nixpkgs builds
  # PySide6 from source under the name pyside6. Same modules.
  pythonRemoveDeps = lib.optionals withApp [ "pyside6-essentials" ];

  nativeBuildInputs = lib.optionals withApp [ qt6.wrapQtAppsHook ];
  buildInputs = lib.optionals withApp [
    qt6.qtbase
    qt6.qtwayland
  ];

  # wrapQtAppsHook wraps ELF binaries; the entry points here are Python
  # scripts, which buildPythonApplication wraps itself. Hand Qt's settings
  # (plugin paths, XDG dirs) to that one wrapper instead of wrapping twice.
  # Appended in bash, not given as a makeWrapperArgs attribute: an attribute
  # is an exported string, `+=(...)` would make it an exported array
  # (declare -ax), and the Python wrapper would then read only its first
  # element, dropping Qt's settings. qasync picks among the Qt bindings it
  # can import; QT_API names the one this package has.
  dontWrapQtApps = true;
  preFixup = lib.optionalString withApp ''
    makeWrapperArgs+=("''${qtWrapperArgs[@]}" --set QT_API pyside6)
  '';

  # The server package carries hostd only: app/ is not in its source, and
  # the app's entry points (which would fail without it) are removed.
  postInstall = lib.optionalString (!withApp) ''
    for script in "$out"/bin/*; do
      case "$(basename "$script")" in
        claude-sandbox-hostd) ;;
        *) rm "$script" ;;
      esac
    done
  '';

  pythonImportsCheck = [ "hostd" ] ++ lib.optionals withApp [ "app" ];

  # The test suite drives real tmux, Xvfb, sshd, bwrap and QEMU; it runs in
  # CI (bash .ci/run) and in the NixOS VM test (checks.hostd-lifecycle),
  # not in the build sandbox.
  doCheck = false;

  meta = {
    description =
      if withApp then
        "Run many coding agents in isolated sandboxes on a Linux server; watch and steer them from one desktop window"
      else
        "claude-sandbox hostd: the server helper (JSON-RPC over stdio) that runs sandboxes";
    license = lib.licenses.mit;
    mainProgram = if withApp then "claude-sandbox-gui" else "claude-sandbox-hostd";
    platforms = lib.platforms.linux;
  };
}

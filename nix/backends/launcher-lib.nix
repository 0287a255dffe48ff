# What the bubblewrap and container launchers share: the sandbox's own
# environment (its PATH) and the settings block that heads their script.
# callPackage-able; used by bubblewrap.nix and container.nix.
{
  lib,
  buildEnv,
  coreutils,
  bashInteractive,
  gnugrep,
  gnused,
  findutils,
  gawk,
  diffutils,
  less,
  which,
  git,
  openssh,
  cacert,
  glibcLocales,
  chromium,
  nix,
}:

{
  # The programs inside: a small base, Chromium, nix (to reach the host's
  # daemon), the agent and whatever else the host asks for.
  sandboxEnv =
    {
      agentPackages,
      extraPackages,
      withChromium,
      withNixDaemon,
    }:
    buildEnv {
      name = "claude-sandbox-env";
      paths =
        [
          coreutils
          bashInteractive
          gnugrep
          gnused
          findutils
          gawk
          diffutils
          less
          which
          git
          openssh
        ]
        ++ lib.optional withChromium chromium
        ++ lib.optional withNixDaemon nix
        ++ agentPackages
        ++ extraPackages;
      pathsToLink = [
        "/bin"
        "/share"
      ];
    };

  # Shell assignments read by common.sh and the launcher's own file. The
  # names are the contract between the two; tests/test_nix.py reads them from
  # here to assemble the script with stand-in values.
  settings =
    {
      file,
      env,
      defaultAgent,
      withChromium,
      withX11,
      withWayland,
      withDbus,
      withGpu,
      withAudio,
      withSshAgent,
      withNixDaemon,
    }:
    let
      flag = b: if b then "1" else "0";
    in
    ''
      # Settings from nix/backends/${file}
      default_agent=${lib.escapeShellArg defaultAgent}
      sandbox_env=${env}
      posix_sh=${bashInteractive}/bin/sh
      locale_archive=${glibcLocales}/lib/locale/locale-archive
      ca_bundle=${cacert}/etc/ssl/certs/ca-bundle.crt
      chromium=${lib.optionalString withChromium (lib.getExe chromium)}
      with_x11=${flag withX11}
      with_wayland=${flag withWayland}
      with_dbus=${flag withDbus}
      with_gpu=${flag withGpu}
      with_audio=${flag withAudio}
      with_ssh_agent=${flag withSshAgent}
      with_nix_daemon=${flag withNixDaemon}
    '';
}

# qemu.qmp, the QEMU Monitor Protocol library hostd uses to grab a VM's
# screen. nixpkgs has `python3Packages.qemu` (QEMU's in-tree python/ folder),
# but hostd's pyproject asks for the distribution named qemu.qmp, which is
# what the runtime dependency check looks for; so it is built here from PyPI.
{
  lib,
  buildPythonPackage,
  fetchPypi,
  setuptools,
  setuptools-scm,
}:

buildPythonPackage rec {
  pname = "qemu_qmp";
  version = "0.0.6";
  pyproject = true;

  src = fetchPypi {
    inherit pname version;
    hash = "sha256-o8Jdhx+rVJEisjQIEN4fmUgQAslCohMkdrBiqs2/bpI=";
  };

  build-system = [
    setuptools
    setuptools-scm
  ];

  pythonImportsCheck = [ "qemu.qmp" ];

  meta = {
    description = "QEMU Monitor Protocol library";
    homepage = "https://gitlab.com/qemu-project/python-qemu-qmp";
    license = lib.licenses.gpl2Only;
  };
}

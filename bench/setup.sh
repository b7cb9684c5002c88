#!/bin/sh
# Makes sure the benchmark's Debian packages are here: the anchors' libraries (Poco, Boost.Asio),
# Debian's python3 with Twisted (and pyOpenSSL, for its TLS), and gnuplot for the chart. Installs
# what is missing with apt-get (as root, or through sudo); otherwise prints the command and
# carries on — the runner then skips the anchors it cannot build or run, with a note. Never fails
# the build.
missing=""
have_pkg() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
[ -f /usr/include/Poco/Net/TCPServer.h ] || missing="$missing libpoco-dev"
[ -f /usr/include/boost/asio.hpp ] || missing="$missing libboost-dev"
[ -x /usr/bin/python3 ] || missing="$missing python3"
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 -c "import twisted.internet" >/dev/null 2>&1 || missing="$missing python3-twisted"
  # Twisted's TLS (listenSSL) is pyOpenSSL, only recommended by python3-twisted.
  /usr/bin/python3 -c "import OpenSSL" >/dev/null 2>&1 || missing="$missing python3-openssl"
else
  missing="$missing python3-twisted"
fi
command -v gnuplot >/dev/null 2>&1 || missing="$missing gnuplot-nox"
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
echo "bench: missing packages:$missing" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench: no apt-get here; install the equivalents of:$missing — the benchmark skips what needs them" >&2
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "bench: to include them, run as root:  apt-get update && $cmd" >&2
  echo "bench: carrying on without them (those anchors are skipped, with a note)" >&2
  exit 0
fi
echo "bench: installing:$missing" >&2
if $SUDO apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive $SUDO $cmd >&2; then
  exit 0
fi
echo "bench: apt-get failed; carrying on without:$missing (those anchors are skipped)" >&2
exit 0

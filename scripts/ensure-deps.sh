#!/bin/sh
# Makes sure the build's tools are here: cmake, a C++20 compiler, GoogleTest, OpenSSL 3,
# haproxy (for the HAProxy example's test), systemd's systemd-socket-activate (for the
# --systemd samples' test);
# with the argument "fuzz", also clang and libFuzzer (for `make fuzz`).
# Installs what is missing with apt-get (as root, or through sudo); otherwise
# stops with the one command that would.
set -e
missing=""
command -v cmake >/dev/null 2>&1 || missing="$missing cmake"
command -v make >/dev/null 2>&1 || missing="$missing make"
command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || missing="$missing g++"
if [ ! -f /usr/include/gtest/gtest.h ] && [ ! -f /usr/local/include/gtest/gtest.h ]; then
  missing="$missing libgtest-dev"
fi
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
# TLS: OpenSSL 3's headers and libraries, and the openssl tool the TLS tests make certificates with.
[ -f /usr/include/openssl/ssl.h ] || missing="$missing libssl-dev"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
# The HAProxy example's test (examples/haproxy/): Debian's haproxy, in /usr/sbin.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
# The --systemd samples' test (tests/test_samples_activation.cpp): systemd-socket-activate, in
# Debian's systemd package (/usr/bin; only the program is used, no init system is needed).
command -v systemd-socket-activate >/dev/null 2>&1 || [ -x /usr/bin/systemd-socket-activate ] ||
  missing="$missing systemd"
if [ "${1:-}" = fuzz ]; then
  command -v clang++-14 >/dev/null 2>&1 || missing="$missing clang-14"
  ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
    missing="$missing libclang-rt-14-dev"
fi
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
echo "socketserver: missing build tools:$missing" >&2
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "socketserver: run this as root, then try again:  $cmd" >&2
  exit 1
fi
echo "socketserver: installing:$missing" >&2
$SUDO apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive $SUDO $cmd >&2

#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine with Node 20 and npm: pnpm (through
# npm), the workspace's packages, and the real parts the tests start — OpenSSH (sshd, ssh-keygen,
# ssh-agent), PostgreSQL, Chromium, the peers the benchmarks compare with (pssh, Ansible), and
# what the benchmarks time them with (python3 for scripts/bench/rusage.py, GNU time), and BusyBox,
# openssl and strace for the inspection and exec tests, xxd and hexdump for the masking tests, tmux for the live progress test,
# ShellCheck for opsbook lint, and Prometheus with Alertmanager for the alerts tests.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION through npm"
  npm install -g "pnpm@$PNPM_VERSION" --no-fund --no-audit
fi

need=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v ssh-agent >/dev/null 2>&1 || need+=(openssh-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v parallel-ssh >/dev/null 2>&1 || need+=(pssh)
command -v sudo >/dev/null 2>&1 || need+=(sudo)
command -v ps >/dev/null 2>&1 || need+=(procps)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v ansible >/dev/null 2>&1 || need+=(ansible)
# The inspection and facts tests run a BusyBox-only host (Alpine's userland) and grade a TLS
# certificate made by openssl; the env-block test counts the wrapper's forks with strace, and
# the alerts serve test sees with it that the intake is fsynced before the receiver listens.
command -v busybox >/dev/null 2>&1 || need+=(busybox)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v strace >/dev/null 2>&1 || need+=(strace)
# The masking tests dump secrets with the real xxd, hexdump and od (coreutils).
command -v xxd >/dev/null 2>&1 || need+=(xxd)
command -v hexdump >/dev/null 2>&1 || need+=(bsdextrautils)
# ... and print them quoted or encoded with the real jq, curl, Perl and Python (PyYAML for YAML).
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v curl >/dev/null 2>&1 || need+=(curl)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
perl -MData::Dumper -e 1 >/dev/null 2>&1 || need+=(perl)
# kubectl (offline: --dry-run=client) prints Go's JSON, which escapes < > & as \u003c…
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
# The live progress test runs `opsbook run` in a tmux pane and reads what a person would see.
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# opsbook lint runs every script and run: block through ShellCheck; its tests need the real one.
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# The alerts tests drive a real Prometheus and Alertmanager, which the testkit starts on free
# loopback ports; the packages' own services (ports 9090, 9093, 9094) are not wanted.
quiet=()
[ -x /usr/bin/prometheus ] || quiet+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || quiet+=(prometheus-alertmanager)
if [ $((${#need[@]} + ${#quiet[@]})) -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages ${need[*]} ${quiet[*]}: run this script as root (or: sudo apt-get install ${need[*]} ${quiet[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ${#quiet[@]} -gt 0 ]; then
  # Their postinst starts the service (invoke-rc.d without systemd, deb-systemd-invoke with it),
  # and fails the install when it cannot. Both ask policy-rc.d first: while these two install,
  # one that answers 101 (action forbidden) keeps the services stopped, unless the host has its own.
  echo "setup: installing ${quiet[*]} (their services not started)"
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${quiet[@]}" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=append-only

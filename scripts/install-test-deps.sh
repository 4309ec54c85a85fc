#!/usr/bin/env bash
# Installs the real peers the test suite talks to, from Debian's packages, when missing:
# SIPp (sip-tester), baresip, linphonec, chromium, PostgreSQL, sox, espeak-ng (the spoken
# prompts), and the attacker tools of sipvicious (svmap, svwar, svcrack), stunnel (TLS for
# SIPp), iproute2, nftables and conntrack (the simulated networks). Fails loudly if it cannot.
set -euo pipefail

need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v baresip >/dev/null || need+=(baresip)
command -v linphonec >/dev/null || need+=(linphone-cli)
command -v chromium >/dev/null || need+=(chromium)
command -v sox >/dev/null || need+=(sox)
# Text-to-speech of the caller-facing prompts (ringdesk.media.speech).
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v svcrack >/dev/null || need+=(sipvicious)
# Debian's sipp has no TLS (built without OpenSSL): the TLS tests put stunnel in front of it.
command -v stunnel4 >/dev/null || need+=(stunnel4)
# Network namespaces, veth pairs and the NAT router of tests/support/netns.py.
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v conntrack >/dev/null || need+=(conntrack)
# systemd-analyze verifies the shipped unit file (deploy/ringdesk.service).
command -v systemd-analyze >/dev/null || need+=(systemd)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [[ "${RINGDESK_BENCH:-}" == 1 ]]; then
  command -v kamailio >/dev/null || need+=(kamailio)
  # bench/rtp_peer.py: the media relay compared with rtpengine (userspace forwarding).
  command -v rtpengine >/dev/null || need+=(rtpengine-daemon)
fi

if ((${#need[@]} == 0)); then
  exit 0
fi

echo "installing test dependencies: ${need[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
# Through env: sudo's env_reset would drop an exported DEBIAN_FRONTEND.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"

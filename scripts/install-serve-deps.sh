#!/usr/bin/env bash
# What `make serve` needs from the system besides Python: espeak-ng, the offline text-to-speech
# of the typed caller-facing prompts. Installs it from Debian's packages when missing. Never
# fails: without espeak-ng the server still starts and typed prompts play as tones, so where it
# cannot be installed (no apt-get, not root and no usable sudo, no network) this prints one
# warning saying so and exits 0.
set -uo pipefail

command -v espeak-ng >/dev/null && exit 0

warn() {
  echo "warning: espeak-ng is not installed ($1): typed prompts will play as tones instead of" \
    "speech. Install it with \`sudo apt install espeak-ng\` and restart the server." >&2
  exit 0
}

command -v apt-get >/dev/null || warn "this machine has no apt-get"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || warn "not root, and there is no sudo"
  # Ask for a password only where someone can type one; never hang a script.
  if [[ -t 0 ]]; then SUDO=(sudo); else SUDO=(sudo -n); fi
fi

echo "installing espeak-ng (text-to-speech for the caller-facing prompts) with apt-get"
log=$(mktemp "${TMPDIR:-/tmp}/ringdesk-serve-deps.XXXXXX")
# sudo resets the environment: DEBIAN_FRONTEND goes through env.
apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
if ! { "${apt[@]}" update -qq && "${apt[@]}" install -y -qq --no-install-recommends espeak-ng; } \
  >"$log" 2>&1 || ! command -v espeak-ng >/dev/null; then
  warn "apt-get failed; its output is in $log"
fi
rm -f "$log"

#!/bin/sh
# Vendors JsSIP (MIT) for the browser phone: the npm package of the version pinned in
# package.json ships CommonJS only (no dist file since 3.10), so esbuild bundles it once, here,
# into one minified IIFE that sets window.JsSIP. The output and the licence are committed;
# nothing is built at run time. Run from the repository root: `make vendor-jssip`.
set -eu
cd "$(dirname "$0")"
version=$(node -p "require('./node_modules/jssip/package.json').version")
out=../../src/ringdesk/web/static/vendor
./node_modules/.bin/esbuild node_modules/jssip/lib/JsSIP.js --bundle --minify \
  --format=iife --global-name=JsSIP --platform=browser --target=es2020 \
  --legal-comments=none --banner:js="/* JsSIP $version (MIT, see jssip-LICENSE.md), bundled by tools/js/vendor-jssip.sh */" \
  --outfile="$out/jssip.min.js"
cp node_modules/jssip/LICENSE.md "$out/jssip-LICENSE.md"
echo "$version" > "$out/jssip.version"

#!/usr/bin/env bash
# The package as users get it: `npm pack`, the tarball installed into an empty folder, and `npx crossmon quickstart`
# run there to its report. Prints the tarball's size and file count. Run from the repository root.
set -euo pipefail
root="$PWD"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm pack --pack-destination "$work" --json > "$work/pack.json"
node -e '
  const p = require(process.argv[1])[0];
  const mib = (n) => (n / 2 ** 20).toFixed(1);
  console.log(`pack: ${p.filename}: ${mib(p.size)} MiB (${mib(p.unpackedSize)} MiB unpacked), ${p.files.length} files`);
  const stray = p.files.map((f) => f.path).filter((f) => /^(test|bench|studies|fuzz|dist\/(test|bench|fuzz))\//.test(f));
  if (stray.length) { console.error(`pack: the tarball holds ${stray.length} files it should not: ${stray[0]}`); process.exit(1); }
' "$work/pack.json"
mkdir "$work/app"
cd "$work/app"
echo '{ "name": "pack-check", "private": true }' > package.json
npm install --no-audit --no-fund "$work"/crossmon-*.tgz > "$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
npx crossmon quickstart -q -o runs/quickstart
test -s runs/quickstart/report.html
echo "pack: npx crossmon quickstart in an empty folder wrote its report"
cd "$root"

#!/usr/bin/env bash
# Install the npm sample packages that training may use (../shared/libraries/README.md lists
# them with their licences) into one folder per library, each note one file named after its
# pitch: libraries/salamander-grand-piano/ (Salamander Grand Piano V3, 16 velocity layers,
# CC BY 3.0, packaged by @audio-samples, MIT) and libraries/vsco2-{violin,flute,trumpet,piano}/
# (VSCO 2 Community Edition, CC BY 3.0, packaged by tonejs-instruments, MIT). Nothing is
# fetched at run time: `midivae corpus build --library libraries/<name>` reads these folders.
#
# Usage: bash bench/install_libraries.sh [DEST]   (default: libraries/, ignored by git)
set -euo pipefail
dest="${1:-libraries}"
mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
unpack() {  # package@version -> its files under $work/<n>/package
  local spec="$1" n="$2"
  mkdir -p "$work/$n"
  (cd "$work/$n" && npm pack --silent "$spec" >/dev/null && tar -xzf ./*.tgz)
}
for instrument in violin flute trumpet piano; do
  target="$dest/vsco2-$instrument"
  if [ -d "$target" ]; then echo "$target: already installed"; continue; fi
  unpack "tonejs-instrument-$instrument-wav@1.1.0" "vsco2-$instrument"
  mkdir -p "$target.tmp"
  cp "$work/vsco2-$instrument"/package/*.wav "$target.tmp/"
  cp "$work/vsco2-$instrument"/package/README.md "$target.tmp/SOURCE-README.md"
  mv "$target.tmp" "$target"
  echo "$target: $(ls "$target" | grep -c wav) samples"
done
target="$dest/salamander-grand-piano"
if [ -d "$target" ]; then
  echo "$target: already installed"
else
  mkdir -p "$target.tmp"
  for layer in $(seq 1 16); do
    unpack "@audio-samples/piano-velocity$layer@1.0.5" "salamander-$layer"
    cp "$work/salamander-$layer"/package/audio/* "$target.tmp/"
  done
  cp "$work/salamander-1"/package/README.md "$target.tmp/SOURCE-README.md"
  mv "$target.tmp" "$target"
  echo "$target: $(ls "$target" | grep -c ogg) samples"
fi
du -sh "$dest"/* | sed 's/^/size: /'

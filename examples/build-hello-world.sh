#!/usr/bin/env bash
# Rebuild examples/hello-world.sif, the small image the README quickstart pushes.
#
#   apt-get install -y siftool squashfs-tools
#   bash examples/build-hello-world.sh
#
# The image is a tiny, non-runnable stand-in (no real shell inside): a squashfs
# root file system with Apptainer-style metadata under /.singularity.d and a
# Def.FILE descriptor. Times, owners and the UUID are fixed so that rebuilding
# with the same tool versions (siftool 2.8.3, squashfs-tools 4.5.1) gives the
# same bytes.
set -euo pipefail
export LC_ALL=C TZ=UTC
umask 022
here=$(cd "$(dirname "$0")" && pwd)
out="$here/hello-world.sif"
epoch=1764115200   # 2025-11-26T00:00:00Z
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

root="$work/root"
mkdir -p "$root"/{bin,etc,tmp} "$root"/.singularity.d/{env,actions,libs}
cat >"$work/hello.def" <<'DEF'
Bootstrap: scratch

%labels
    maintainer sregistry developers
    org.opencontainers.image.title hello-world
    org.opencontainers.image.description The sregistry quickstart example

%environment
    export GREETING="hello from sregistry"

%runscript
    echo "$GREETING"

%test
    test -n "$GREETING"

%help
    The image the sregistry quickstart pushes, lists and pulls back.
DEF
cp "$work/hello.def" "$root/.singularity.d/Singularity"
printf '%s' '{
	"maintainer": "sregistry developers",
	"org.label-schema.build-arch": "amd64",
	"org.label-schema.schema-version": "1.0",
	"org.opencontainers.image.description": "The sregistry quickstart example",
	"org.opencontainers.image.title": "hello-world"
}' >"$root/.singularity.d/labels.json"
printf '#!/bin/sh\n\n    echo "$GREETING"\n\n' >"$root/.singularity.d/runscript"
printf '#!/bin/sh\n\n    test -n "$GREETING"\n\n' >"$root/.singularity.d/test"
printf '    The image the sregistry quickstart pushes, lists and pulls back.\n\n' >"$root/.singularity.d/runscript.help"
printf '#!/bin/sh\n' >"$root/.singularity.d/startscript"
printf '#!/bin/sh\n# Custom environment shell code should follow\n\n    export GREETING="hello from sregistry"\n\n' \
  >"$root/.singularity.d/env/90-environment.sh"
printf 'hello-world\n' >"$root/etc/hostname"
chmod 755 "$root"/.singularity.d/{runscript,test,startscript} "$root"/.singularity.d/env/*.sh
ln -s .singularity.d/runscript "$root/singularity"

mksquashfs "$root" "$work/root.sqfs" -noappend -comp gzip -all-root -no-xattrs -processors 1 \
  -mkfs-time "$epoch" -all-time "$epoch" -quiet >/dev/null
rm -f "$out"
siftool new "$out"
siftool add --datatype 1 --groupid 1 "$out" "$work/hello.def"
siftool add --datatype 4 --parttype 2 --partfs 1 --partarch 2 --groupid 1 "$out" "$work/root.sqfs"

# Fix what siftool makes random or "now": launch script, UUID, header and descriptor times.
python3 - "$out" "$epoch" <<'PY'
import struct, sys
path, epoch = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(0); f.write(b"#!/usr/bin/env run-singularity\n\0")
    f.seek(48); f.write(bytes.fromhex("5eca5eca000040008000000000000001"))
    f.seek(64); f.write(struct.pack("<qq", epoch, epoch))
    for i in range(2):
        f.seek(4096 + 585 * i + 41); f.write(struct.pack("<qq", epoch, epoch))
PY
chmod 644 "$out"
ls -l "$out"
sha256sum "$out"

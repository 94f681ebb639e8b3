#!/usr/bin/env bash
# Rebuild the squashfs test images (squashfs-tools 4.5.1). tree-gzip.sqfs and
# tree-zstd.sqfs exercise the parts of the format the SIF fixtures do not:
#   - 1100 files of ~2 KiB in /bigdir: an extended directory with an index, and
#     more than 512 fragments (a fragment table spanning several metadata blocks)
#   - 4 KiB blocks: multi-block files, incompressible (stored) blocks, a sparse block
#   - hard links (extended file inodes), absolute/relative/looping/dangling symlinks
# busybox-like-lzma.sqfs and busybox-like-lz4.sqfs hold the root file system of
# ../../../shared/fixtures/sif/busybox-like.sif recompressed with legacy lzma
# (read by Python's lzma) and lz4 (read only through unsquashfs).
set -euo pipefail
export LC_ALL=C TZ=UTC
OUT=${1:-$(cd "$(dirname "$0")" && pwd)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R/bigdir" "$R/data" "$R/empty"
python3 - "$R" <<'PY'
import random, sys
root = sys.argv[1]
rng = random.Random(20240601)
for i in range(1100):
    with open(f"{root}/bigdir/f{i:04d}", "w") as f:
        f.write((f"file {i:04d} " * 200)[: 2000 + i % 100])
with open(f"{root}/data/random.bin", "wb") as f:
    f.write(bytes(rng.getrandbits(8) for _ in range(5 * 4096 + 123)))
with open(f"{root}/data/sparse.bin", "wb") as f:
    f.write(b"A" * 4096 + bytes(8192) + b"B" * 4096 + b"tail" * 25)
with open(f"{root}/data/text.txt", "w") as f:
    f.write("".join(f"line {i}\n" for i in range(1500)))
PY
ln "$R/data/text.txt" "$R/data/hardlink.txt"
ln -s /data/text.txt "$R/link-abs"
ln -s data/text.txt "$R/link-rel"
ln -s ../data/text.txt "$R/data/up"
ln -s data "$R/dirlink"
ln -s /loop2 "$R/loop1"
ln -s /loop1 "$R/loop2"
ln -s /nowhere "$R/dangling"
for comp in gzip zstd; do
  mksquashfs "$R" "$OUT/tree-$comp.sqfs" -noappend -comp "$comp" -b 4096 -all-root \
    -no-xattrs -processors 1 -mkfs-time 1700000000 -all-time 1700000000 -quiet >/dev/null
done
FIXTURE=$(cd "$(dirname "$0")" && pwd)/../../../shared/fixtures/sif/busybox-like.sif
unsquashfs -q -n -o 32768 -d "$WORK/busybox-like" "$FIXTURE" >/dev/null
for comp in lzma lz4; do
  mksquashfs "$WORK/busybox-like" "$OUT/busybox-like-$comp.sqfs" -noappend -comp "$comp" \
    -all-root -no-xattrs -processors 1 -mkfs-time 1700000000 -all-time 1700000000 -quiet >/dev/null
done
ls -l "$OUT"/*.sqfs

#!/usr/bin/env bash
# Seed corpora of the decoder's fuzz targets, from real files: streams the `ansel` program
# writes from crops of assets/sample.png at several sizes and qualities, their latent sections
# for the entropy target, and packages imported from the test checkpoints.
# Usage (from codec-format/fuzz): ANSEL=../../target/release/ansel bash seeds.sh
set -euo pipefail
cd "$(dirname "$0")"
ansel=${ANSEL:-../../target/release/ansel}
root=../..
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p corpus/decode corpus/image_hook corpus/entropy corpus/package
# Crops as PPM (Python's standard library alone: the PNG's rows unfiltered by hand).
python3 - "$root/assets/sample.png" "$tmp" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
chunks, pos = {}, 8
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunks.setdefault(kind, []).append(data[pos + 8:pos + 8 + n])
    pos += 12 + n
w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
assert depth == 8 and colour in (2, 6), "8-bit RGB or RGBA"
bpp = 3 if colour == 2 else 4
raw, stride, rows, prev = zlib.decompress(b"".join(chunks[b"IDAT"])), w * bpp, [], bytearray(w * bpp)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a, b = line[i - bpp] if i >= bpp else 0, prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pred = [0, a, b, (a + b) // 2, a if abs(p - a) <= min(abs(p - b), abs(p - c)) else (b if abs(p - b) <= abs(p - c) else c)][f]
        line[i] = (line[i] + pred) & 255
    rows.append(line)
    prev = line
for cw, ch in [(16, 16), (64, 48), (100, 70), (128, 128), (200, 130)]:
    pixels = b"".join(bytes(rows[y][x * bpp:x * bpp + 3]) for y in range(ch) for x in range(cw))
    open(f"{sys.argv[2]}/crop-{cw}x{ch}.ppm", "wb").write(b"P6 %d %d 255\n" % (cw, ch) + pixels)
PY
for png in "$tmp"/crop-*.ppm; do
  for q in 1 4.5 8; do
    out=corpus/decode/$(basename "$png" .ppm)-q$q.ansel
    "$ansel" encode "$png" -q "$q" -o "$out" --force
    cp "$out" corpus/image_hook/
    # entropy: [tables (0 = y, 1 = z), symbol count (u16 LE), an index a symbol, stream]
    "$ansel" info "$out" --json | python3 -c '
import json, struct, sys
info, path, out = json.load(sys.stdin), sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
for s in info["tiles"][0]["sections"]:
    section = data[s["offset"]:s["offset"] + s["bytes"]]
    which = 1 if s["kind"].startswith("hyper") else 0
    count = min(len(section), 256)
    seed = bytes([which]) + struct.pack("<H", count) + bytes([which * 3 + 5] * count) + section
    open(f"{out}-{which}", "wb").write(seed)
' "$out" "corpus/entropy/$(basename "$out")"
  done
done
# Streams with metadata (format 1.1): an ICC profile, EXIF (orientation 6) and XMP put into
# tile 0 of real streams, ahead of the image's sections, and the file resealed.
for stream in corpus/decode/crop-64x48-q4.5.ansel corpus/decode/crop-128x128-q1.ansel; do
  python3 - "$stream" "${stream%.ansel}-metadata.ansel" <<'PY'
import struct, sys
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
data = open(sys.argv[1], "rb").read()[:-4]
icc = bytearray(132)
icc[8:24] = bytes([4, 0x30, 0, 0]) + b"mntrRGB XYZ "
icc[36:40] = b"acsp"
icc[0:4] = struct.pack(">I", len(icc))
exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0"
xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
parts = [(3, bytes(icc)), (4, exif), (5, xmp)]
count = struct.unpack("<H", data[63:65])[0]
table_end = 65 + 5 * count
entries = b"".join(struct.pack("<BI", k, len(p)) for k, p in parts)
body = (data[:10] + data[10:12] + b"\0" * 8 + data[20:63] + struct.pack("<H", count + 3)
        + entries + data[65:table_end] + b"".join(p for _, p in parts) + data[table_end:])
body = bytearray(body)
body[9] = 1
body[12:20] = struct.pack("<Q", len(body) + 4)
open(sys.argv[2], "wb").write(bytes(body) + struct.pack("<I", crc32c(body)))
PY
  "$ansel" info "${stream%.ansel}-metadata.ansel" > /dev/null
  cp "${stream%.ansel}-metadata.ansel" corpus/image_hook/
done
for arch in mbt2018-mean bmshj2018-hyperprior; do
  "$ansel" import compressai "$root/tests/data/import/$arch-small.pth.tar" --arch "$arch" \
    --lambda 0.013 -o "corpus/package/$arch.anselpkg" --force
done
ls corpus/* | wc -l

"""CompressAI's compress/decompress times per image, the yardstick of benches/codec_speed/run.sh.

One JSON line per image, {"image", "encode_ms", "decode_ms", "bytes"}, each time the median of
--repeat runs after one untimed run, in process (no model load, no file I/O). The network is
CompressAI's mbt2018-mean (N = 128, M = 192 at qualities 1-5), untrained: no weights can be
downloaded here, and the transforms' time does not depend on them (the entropy coder's
does, a little: say so beside any figure).
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
from PIL import Image
from compressai.zoo import mbt2018_mean


def main():
    p = argparse.ArgumentParser()
    p.add_argument("images", nargs="+")
    p.add_argument("--quality", type=int, default=3, help="CompressAI's quality (1-8)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true", help="run under torch.autocast(bfloat16)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = mbt2018_mean(quality=args.quality, pretrained=False).eval()
    net.update(force=True)
    for path in args.images:
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
        x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).contiguous()
        h, w = x.shape[2:]
        ph, pw = -h % 64, -w % 64
        x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
        encode, decode = [], []
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            for i in range(args.repeat + 1):
                start = time.perf_counter()
                out = net.compress(x)
                middle = time.perf_counter()
                net.decompress(out["strings"], out["shape"])
                end = time.perf_counter()
                if i:
                    encode.append((middle - start) * 1e3)
                    decode.append((end - middle) * 1e3)
        size = sum(len(s[0]) for s in out["strings"])
        print(json.dumps({"image": path, "encode_ms": statistics.median(encode),
                          "decode_ms": statistics.median(decode), "bytes": size}), flush=True)


if __name__ == "__main__":
    main()

"""Time installing MNIST_SAMPLE against `tar -xzf`, and decoding its PNGs, side by side in one run (not a test).

The machines that run this differ in speed from one session to the next, so what counts is the ratio
measured in the same run:
- `install_dataset('mnist_sample', ...)`'s work (`install_archive`: tarfile unpacks with `filter='data'` into a
  temporary folder, every member and every PNG is checked, the folder is renamed into place) against `tar -xzf` on
  the same archive, each into a fresh folder on the same file system, in
  alternating order, `--repeat` times; the target is at most 3x;
- decoding the 14,434 PNGs into the four tensors: PIL file by file (the lesson's way, and the package's
  before it read the PNGs itself) against `mnist_3s_7s()`, with a check that both give the same bits; and,
  for comparison, the least a cache of decoded tensors could cost (stat every file to build its key, then
  read the saved pixels).
Run: python benchmarks/bench_install.py [--archive PATH] [--repeat N]   (PATH default: $MNIST_SAMPLE_ARCHIVE)
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mnist_linear.data import mnist_3s_7s
from mnist_linear.files import DATASETS, check_folder, get_mnist_sample, install_archive


def timed(f):
    t = time.perf_counter(); r = f(); return time.perf_counter() - t, r


def cpu():
    "CPU seconds (user + system) of this process and of its finished children: tar's are the children's."
    t = os.times(); return t.user + t.system + t.children_user + t.children_system


def bench_install(archive, repeat, where, root='mnist_sample', expected=DATASETS['mnist_sample'].counts):
    "Best-effort fair race: fresh folders, alternating order, deletion outside the timings."
    tar, ours, tar_cpu, ours_cpu = [], [], [], []
    (split, label), n = next(iter(expected.items()))     # one folder to count, to see that each really unpacked
    for i in range(repeat):
        runs = [('tar', lambda d: subprocess.run(['tar', '-xzf', str(archive), '-C', str(d)], check=True)),
                ('install', lambda d: install_archive(archive, root, expected, dest=d/root))]
        for name, run in (runs if i % 2 == 0 else runs[::-1]):
            d = Path(tempfile.mkdtemp(prefix='.bench-install-', dir=where))
            try:
                c = cpu()
                dt, _ = timed(lambda: run(d))
                (tar if name == 'tar' else ours).append(dt)
                (tar_cpu if name == 'tar' else ours_cpu).append(cpu() - c)
                if len(list((d/root/split/label).iterdir())) != n: sys.exit(f"error: {name} did not unpack the archive")
            finally: shutil.rmtree(d)
    checks = [timed(lambda: check_folder(where/root, expected))[0] for _ in range(min(repeat, 3))]     # the installed folder
    return tar, ours, tar_cpu, ours_cpu, checks


def report_install(archive, repeat, where, what, times):
    "Print the install race's figures: wall and CPU, each side, and their ratios."
    tar, ours, tar_cpu, ours_cpu, checks = times
    med = statistics.median
    print(f"installing {archive.name} ({archive.stat().st_size/2**20:.1f} MiB), {repeat} rounds, each into a fresh folder in {where}:")
    print(f"  tar -xzf                        wall: median {med(tar):.2f}s, best {min(tar):.2f}s   CPU: median {med(tar_cpu):.2f}s")
    print(f"  {what + ' (every check)':<31} wall: median {med(ours):.2f}s, best {min(ours):.2f}s   CPU: median {med(ours_cpu):.2f}s")
    print(f"  ratio install/tar: {med([o/t for o, t in zip(ours, tar)]):.1f}x (median of each round's ratio, wall), "
          f"{min(ours)/min(tar):.1f}x (bests, wall), {med(ours_cpu)/med(tar_cpu):.1f}x (medians, CPU); target at most 3x")
    print(f"  of which checking every PNG once unpacked (check_folder): best {min(checks):.2f}s "
          f"(the rest is tarfile's unpacking; a file system's speed can change 5x from minute to minute)")


def arguments(doc, env, repeat):
    "The archive (`--archive`, default `$env`) and the rounds (`--repeat`) from the command line; a one-line error if unusable."
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument('--archive', default=os.environ.get(env), help=f'the archive (default: ${env})')
    ap.add_argument('--repeat', type=int, default=repeat, help=f'rounds of each (default {repeat})')
    args = ap.parse_args()
    if not args.archive: sys.exit(f"error: say which archive: --archive PATH or {env}=PATH")
    args.archive = Path(args.archive).expanduser()
    if not args.archive.is_file(): sys.exit(f"error: archive {args.archive} does not exist or is not a file")
    if args.repeat < 1: sys.exit("error: --repeat must be at least 1")
    return args


def pil_tensors(path):
    "The four tensors decoded file by file with PIL, as the package did before (and as lesson 00 still shows)."
    def load(split, d):
        files = sorted((path/split/str(d)).glob('*.png'))
        return torch.from_numpy(np.stack([np.asarray(Image.open(f)) for f in files])).float()/255
    return [torch.cat([load(s, 3), load(s, 7)]).view(-1, 784) for s in ('train', 'valid')]


def cache_floor(path, saved):
    "Stat every PNG (the key of a cache keyed by names, sizes and mtimes), then read the saved pixels back."
    key = [(f.name, st.st_size, st.st_mtime_ns) for s in ('train', 'valid') for d in ('3', '7')
           for f in sorted((path/s/d).glob('*.png')) for st in [f.stat()]]
    return key, torch.from_numpy(np.load(saved)).float()/255


def main():
    args = arguments(__doc__, 'MNIST_SAMPLE_ARCHIVE', 7)
    archive, path = args.archive, get_mnist_sample()
    print(f"on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    report_install(archive, args.repeat, path.parent, 'install_dataset', bench_install(archive, args.repeat, path.parent))

    pil, new, floor = [], [], []
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        saved = Path(tmp)/"pixels.npy"
        ref = pil_tensors(path)
        np.save(saved, (torch.cat(ref)*255).round().to(torch.uint8).numpy())
        mib = saved.stat().st_size/2**20
        for _ in range(max(1, min(args.repeat, 3))):
            dt, got = timed(lambda: mnist_3s_7s(path)); new.append(dt)
            dt, ref = timed(lambda: pil_tensors(path)); pil.append(dt)
            dt, (_, cached) = timed(lambda: cache_floor(path, saved)); floor.append(dt)
    same = torch.equal(got.train_x, ref[0]) and torch.equal(got.valid_x, ref[1])
    same_cache = torch.equal(cached, torch.cat(ref))
    print(f"decoding the {len(ref[0]) + len(ref[1]):,} PNGs of {path} into tensors (best of {len(new)}):")
    print(f"  PIL, file by file (before)        {min(pil):.2f}s")
    print(f"  mnist_3s_7s (now)                 {min(new):.2f}s  ({min(pil)/min(new):.1f}x quicker; bit-identical to PIL: {'yes' if same else 'NO'})")
    print(f"  a cache's floor: stat every file, read {mib:.0f} MiB of saved pixels   {min(floor):.2f}s"
          f"{'' if same_cache else ' (its pixels differ!)'}")
    if not same: sys.exit("error: mnist_3s_7s does not give PIL's tensors")


if __name__ == '__main__': main()

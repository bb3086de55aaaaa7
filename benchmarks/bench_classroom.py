"""How far one machine goes: N simulated learners at once through the hub, each running lesson 03 top to bottom in
their own kernel, for N = 1, 2, 4, 8; then the instructor grades N submissions of 03_sgd. Not a test: it prints a
table, and INSTRUCTORS.md ("How many learners one machine serves") quotes it.

    sudo .venv-dev/bin/python benchmarks/bench_classroom.py [--sizes 1 2 4 8]

As root (it makes a throw-away class with tools/classroom/trial.py, and removes it, accounts included, at the end).
For each N it reports: the wall time of each learner's lesson (mean and slowest), the hub's response time while they
run (GET /hub/api/users/<name>, every 0.5 s, median and slowest), and the peak memory of each learner (the resident
memory of all the processes of that account, their server and kernel, sampled every 0.5 s; the largest learner, and
the mean). Grading: seconds for `classroom.py grade` (collect, autograde, feedback) of N submissions of the solution,
and the peak resident memory of the instructor's processes meanwhile.
"""
import argparse, os, platform, pwd, statistics, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'/'classroom'))
import trial  # noqa: E402
from hubclient import Learner  # noqa: E402

ARCHIVE = os.environ.get('MNIST_SAMPLE_ARCHIVE') or str(ROOT.parent/'shared'/'data'/'mnist_sample.tgz')
PAGE = os.sysconf('SC_PAGE_SIZE')


def rss_by_uid():
    "{uid: resident bytes of all its processes}, from /proc."
    res = {}
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            uid = os.stat(f'/proc/{pid}').st_uid
            with open(f'/proc/{pid}/statm') as f: res[uid] = res.get(uid, 0) + int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError): pass
    return res


class Sampler:
    "Every 0.5 s while running: the peak memory of each account in `names`, and the hub's response time to `probe`."
    def __init__(self, names, probe=None):
        self.uids = {n: pwd.getpwnam(n).pw_uid for n in names}
        self.peak, self.latency, self.probe = dict.fromkeys(names, 0), [], probe
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            mem = rss_by_uid()
            for n, uid in self.uids.items(): self.peak[n] = max(self.peak[n], mem.get(uid, 0))
            if self.probe is not None:
                t = time.perf_counter()
                self.probe.hub_api('GET', f'/users/{self.probe.name}')
                self.latency.append(time.perf_counter() - t)
            self.stop.wait(0.5)

    def __enter__(self): self.thread.start(); return self
    def __exit__(self, *exc): self.stop.set(); self.thread.join()


def lesson(learner, cells):
    "Run lesson 03 top to bottom in a new kernel of `learner`; return the wall time."
    t = time.perf_counter()
    with learner.kernel('lessons/nbs') as k: out = k.run(cells, timeout=1800)
    errors = [e for _, e in out if e]
    if errors or len(out) != len(cells): raise RuntimeError(f'lesson 03 failed for {learner.name}: {errors}')
    return time.perf_counter() - t


def grading(cls, learners, n):
    "Release 03_sgd, n learners submit the solution, the instructor grades them all: (seconds, peak bytes)."
    for cmd in (('generate_assignment', '03_sgd', '--force'), ('release_assignment', '03_sgd', '--force')):
        r = cls.as_instructor(trial.VENV/'bin'/'nbgrader', *cmd)
        if r.returncode: raise RuntimeError(r.stderr[-500:])
    form, path, sources = {'course_id': 'mnist-linear', 'assignment_id': '03_sgd'}, 'mnist-linear/03_sgd/03_sgd.ipynb', trial.solution_sources('03_sgd')
    for s in learners[:n]:
        trial.assignments(s.api('POST', '/assignments/fetch', data=form))
        trial.fill_in(s, path, sources)
        trial.assignments(s.api('POST', '/assignments/submit', data=form))
    with Sampler([cls.instructor]) as smp:
        t = time.perf_counter()
        r = trial.tool('grade', '03_sgd', user=cls.instructor, env=cls.instructor_env(), timeout=3600)
        took = time.perf_counter() - t
    if r.returncode: raise RuntimeError(r.stderr[-500:])
    return took, smp.peak[cls.instructor]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', type=int, nargs='+', default=[1, 2, 4, 8])
    args = ap.parse_args()
    need = trial.missing(ARCHIVE)
    if need: sys.exit('error: the benchmark needs: ' + '; '.join(need))
    gb = 2**30
    print(f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PHYS_PAGES') * PAGE / gb:.0f} GB, {platform.platform()}")
    with trial.throwaway_class(max(args.sizes), ARCHIVE) as cls:
        learners = [Learner(cls.base, n, cls.passwords[n]) for n in cls.students]
        t = time.perf_counter()
        with ThreadPoolExecutor(len(learners)) as pool:
            list(pool.map(lambda s: (s.login(), s.start(), s.git_pull(f"file://{cls.srv/'lessons.git'}", 'main', 'lessons')), learners))
        print(f"{len(learners)} learners logged in, servers started, lessons pulled: {time.perf_counter() - t:.1f} s")
        idle = rss_by_uid()
        print(f"an idle server: {statistics.mean(idle.get(pwd.getpwnam(n).pw_uid, 0) for n in cls.students) / gb:.2f} GB")
        cells = trial.code_cells(learners[0], 'lessons/nbs/03_sgd.ipynb')
        print('| learners at once | lesson 03 per learner, mean (slowest) | hub response, median (slowest) | peak memory per learner, mean (largest) |')
        print('|---:|---:|---:|---:|')
        for n in args.sizes:
            group = learners[:n]
            with Sampler([s.name for s in group], probe=learners[0]) as smp, ThreadPoolExecutor(n) as pool:
                walls = list(pool.map(lambda s: lesson(s, cells), group))
            peaks = [smp.peak[s.name] / gb for s in group]
            print(f"| {n} | {statistics.mean(walls):.1f} s ({max(walls):.1f} s) | "
                  f"{statistics.median(smp.latency) * 1000:.0f} ms ({max(smp.latency) * 1000:.0f} ms) | "
                  f"{statistics.mean(peaks):.2f} GB ({max(peaks):.2f} GB) |", flush=True)
        n = max(args.sizes)
        took, peak = grading(cls, learners, n)
        print(f"grading 03_sgd: {n} submissions in {took:.1f} s ({took / n:.1f} s each), instructor's peak memory {peak / gb:.2f} GB")


if __name__ == '__main__': main()

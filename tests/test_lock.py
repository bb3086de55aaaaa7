"""tools/lock.py: the locks that `make setup` installs from must satisfy settings.ini's ranges, the torch
cap and the nbdev 2 SPEC; a lock that no longer does is named, with the package and the range."""
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import lock  # noqa: E402


def test_the_committed_locks_hold():
    learner, everyone, _ = lock.project_requirements()
    assert set(learner) < set(everyone) and 'nbgrader>=0.9,<0.10' in everyone and 'nbgrader>=0.9,<0.10' not in learner
    assert lock.problems(lock.LEARNER_LOCK, learner + lock.constraints()) == []
    assert lock.problems(lock.LOCK, everyone + lock.constraints()) == []
    assert lock.problems(lock.NBDEV2_LOCK, lock.nbdev2_spec()) == []
    assert lock.no_tools(lock.LEARNER_LOCK) == [] and lock.contained(lock.LEARNER_LOCK, lock.LOCK) == []


def test_a_learner_lock_with_a_tool_or_a_version_the_full_lock_lacks_fails(tmp_path):
    small = pinned(tmp_path, 'fastai==2.8.4', 'pytest==9.0.0')
    big = tmp_path/'big.txt'
    big.write_text('\n'.join(f'{l} \\\n    --hash=sha256:{"0"*64}' for l in ('fastai==2.8.5', 'pytest==9.0.0')) + '\n')
    assert lock.no_tools(small) == ['lock.txt holds pytest, a tool learners do not need (see TOOLS_NOT_FOR_LEARNERS)']
    assert lock.contained(small, big) == ['big.txt does not pin fastai==2.8.4 as lock.txt does']
    assert lock.contained(big, big) == []
    assert 'torch<=2.14.1' in lock.constraints()   # the cap this machine's pip configuration sets


def test_every_pin_is_exact_and_hashed():
    for path in (lock.LEARNER_LOCK, lock.LOCK, lock.NBDEV2_LOCK):
        text = path.read_text()
        blocks = [b for b in text.split('\n') if b and b[0] not in ' #']
        assert blocks and all('==' in b and b.rstrip().endswith('\\') for b in blocks), path
        assert text.count('--hash=sha256:') >= len(blocks)


def pinned(tmp_path, *lines):
    p = tmp_path/'lock.txt'
    p.write_text('\n'.join(f'{l} \\\n    --hash=sha256:{"0"*64}' for l in lines) + '\n')
    return p


def test_a_lock_outside_a_range_or_without_a_package_fails(tmp_path):
    p = pinned(tmp_path, 'fastai==2.9.0', "torch==2.14.1 ; sys_platform == 'linux'", "torch==2.14.1 ; sys_platform != 'linux'",
               "numpy==2.4.6 ; python_full_version < '3.0'", 'nbgrader==0.9.5')
    found = lock.problems(p, ['fastai>=2.8,<2.9', 'torch<=2.14.1', 'numpy', 'matplotlib', 'nbgrader>=0.9,<0.10'])
    assert found == [
        "lock.txt pins fastai==2.9.0, outside 'fastai>=2.8,<2.9'",
        "lock.txt pins no version of numpy for this platform; 'numpy' needs one",
        "lock.txt pins no version of matplotlib for this platform; 'matplotlib' needs one",
    ]
    assert lock.problems(pinned(tmp_path, 'torch==2.15.0'), ['torch<=2.14.1']) == ["lock.txt pins torch==2.15.0, outside 'torch<=2.14.1'"]
    assert lock.problems(tmp_path/'none.txt', ['torch']) == ['none.txt is missing: run `make lock`']

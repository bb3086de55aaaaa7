#!/usr/bin/env python
"""Write the student notebooks (clean/) and the course's site, or `--check` that clean/ is up to date, or write the
answer key as HTML with `--answers DIR` (an instructor tool, not part of the `mnist_linear` package).

    python tools/site/build.py [--html DIR]                  # clean/ and the site (default _handouts/): `make site`
    python tools/site/build.py --check                       # write nothing; exit 1 if clean/ is stale (CI)
    python tools/site/build.py --answers KEYDIR --html DIR   # only the answer key, linked to the site in DIR: `make answers`

`--answers` writes the key's pages and nothing else, into a folder of their own: it refuses the site's, clean/'s, nbs/'s or
the key's folder, and a folder that holds student handouts or notebooks (exit status 2), and writes nothing while the key
does not match the lessons (exit status 1, see answer_key.py). Nothing else ever writes the key, and the student copies and
the site never read it. Bad input: one line on stderr, exit status 2.
"""
import os, sys
from pathlib import Path

from answer_key import build_answers, key_problems
from handouts import build_handouts
from notebooks import Parser, lessons, stale_student_copies, write_student_copies


def _answers_dest_problem(dest, args):
    "Why `dest` must not receive the answer key, or None: it is a student folder, or holds student handouts."
    dest = Path(dest).resolve()
    for what, folder in [('--html', args.html), ('--clean', args.clean), ('--nbs', args.nbs), ('--key', args.key)]:
        if dest == Path(folder).resolve(): return f"{args.answers} is the {what} folder; write the answer key into a folder of its own"
    if dest.is_file(): return f"{args.answers} is a file, not a folder"
    if dest.is_dir() and any((dest/f'{p.stem}.html').exists() or (dest/p.name).exists() for p in lessons(args.nbs)):
        return f"{args.answers} holds student handouts or notebooks; write the answer key into a folder of its own"
    return None


def _answers(args):
    if why := _answers_dest_problem(args.answers, args): print(f"error: {why}", file=sys.stderr); return 2
    if probs := key_problems(args.nbs, args.key):
        more = f" (and {len(probs)-1} more; `python tools/site/answer_key.py` lists them all)" if len(probs) > 1 else ''
        print(f"error: the answer key does not match the lessons, so nothing was written: {probs[0]}{more}", file=sys.stderr)
        return 1
    site = os.path.relpath(Path(args.html).resolve(), Path(args.answers).resolve()).replace(os.sep, '/')
    pages = build_answers(args.nbs, args.key, args.answers, site)
    print(f"wrote the answer key: {len(pages)-1} pages and an index to {args.answers}/ (open {pages[0]}); for instructors only")
    return 0


def main(argv=None):
    "Write the student notebooks and the site, or `--check` that clean/ is up to date, or write the answer key with `--answers DIR`."
    ap = Parser(prog='build.py', description=main.__doc__)
    ap.add_argument('--nbs', default='nbs', help='folder of the lesson notebooks (default nbs)')
    ap.add_argument('--clean', default='clean', help='folder for the student notebooks (default clean)')
    ap.add_argument('--html', default='_handouts', help='folder for the site (default _handouts)')
    ap.add_argument('--check', action='store_true', help='write nothing; exit 1 if clean/ is not what would be written')
    ap.add_argument('--answers', metavar='DIR', help="write only the instructor's answer key, as HTML pages, into DIR")
    ap.add_argument('--key', default='answers', help='folder of the answer key, one Markdown file per lesson (default answers)')
    args = ap.parse_args(argv)
    if not lessons(args.nbs):
        print(f"error: no lesson notebooks (NN_topic.ipynb) in {args.nbs}", file=sys.stderr); return 2
    if args.check and args.answers is not None:
        print("error: --check and --answers do not go together", file=sys.stderr); return 2
    if args.answers is not None: return _answers(args)
    if args.check:
        stale = stale_student_copies(args.nbs, args.clean)
        if stale:
            print(f"{args.clean}/ is out of date for: {', '.join(stale)}. Run `python tools/site/build.py` and commit.")
            return 1
        print(f"{args.clean}/ is up to date ({len(lessons(args.nbs))} student notebooks)")
        return 0
    for opt, folder in [('--clean', args.clean), ('--html', args.html)]:
        if Path(folder).exists() and not Path(folder).is_dir():
            print(f"error: {opt} {folder} is a file, not a folder", file=sys.stderr); return 2
    n = len(write_student_copies(args.nbs, args.clean))
    pages = build_handouts(args.nbs, args.html)
    print(f"wrote {n} student notebooks to {args.clean}/ and {len(pages)} HTML pages to {args.html}/ (open {pages[0]})")
    return 0


if __name__ == '__main__':
    sys.exit(main())

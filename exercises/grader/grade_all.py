"""grade_all.py EX DIR [--build BUILD]: grades every submission in DIR, then prints a table.

A submission is DIR/<student>.cpp, or a folder DIR/<student>/ holding one .cpp file (or a
starter.cpp among several). Each is graded by exercises/EX/grader.py, one after the other;
the table lists the student, the checks passed and the checks failed. Written also as
DIR/grades-EX.csv. Exits 0 (the table is the result).
"""
import argparse
import csv
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def submissions(folder):
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if os.path.isfile(path) and entry.endswith(".cpp"):
            yield entry[:-4], path
        elif os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "*.cpp")))
            starters = [f for f in files if os.path.basename(f) == "starter.cpp"]
            if len(files) == 1 or starters:
                yield entry, (starters or files)[0]
            else:
                yield entry, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("exercise")
    ap.add_argument("folder")
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    grader = os.path.join(HERE, "..", args.exercise, "grader.py")
    if not os.path.isfile(grader) or not os.path.isdir(args.folder):
        sys.exit("usage: make grade-all EX=2-12 DIR=folder (no grader for %r, or no folder %r)"
                 % (args.exercise, args.folder))
    rows = []
    for student, path in submissions(args.folder):
        if path is None:
            rows.append((student, "-", "several .cpp files: which one?"))
            print("%s: skipped (several .cpp files)" % student, flush=True)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            report = os.path.join(tmp, "results.json")
            subprocess.run([sys.executable, grader, "--file", path, "--build", args.build,
                            "--quiet", "--json", report],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
            try:
                with open(report) as f:
                    results = json.load(f)
            except (OSError, ValueError):
                results = None
        if results is None:
            rows.append((student, "?", "the grader did not finish"))
        else:
            failed = [r["check"] for r in results if not r["passed"]]
            score = "%d/%d" % (len(results) - len(failed), len(results))
            rows.append((student, score, "; ".join(failed) or "-"))
        print("%s: %s" % (student, score), flush=True)
    width = max([len("student")] + [len(r[0]) for r in rows])
    print()
    print("%-*s  %-7s  %s" % (width, "student", "passed", "failed checks"))
    for student, score, failed in rows:
        print("%-*s  %-7s  %s" % (width, student, score, failed))
    table = os.path.join(args.folder, "grades-%s.csv" % args.exercise)
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "passed", "failed checks"])
        w.writerows(rows)
    print("\n(also written to %s)" % table)


if __name__ == "__main__":
    main()

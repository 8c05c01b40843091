"""PASS/FAIL lines and their tally: the one tally of every end-to-end script
(tests/e2e, tests/live; see tests/e2e/README.md).

    check = Checks()
    check(ok, "what", detail)         # prints PASS/FAIL (detail on failure only)
    check.report("what", problems)    # PASS when the list is empty, else FAIL and the problems
    check.count(n, failures)          # checks whose lines the caller printed (corpus files)
    return check.skip("why")          # prints SKIP and the tally; exit code 77 (1 after a failure)
    return check.summary()            # prints "N passed, N failed"; exit code 0/1
"""
import os
import shutil
import sys

MAX_LINES = 40  # problem lines printed under one failed report()


class Checks:
    def __init__(self, max_lines=MAX_LINES):
        self.passed = self.failed = 0
        self.max_lines = max_lines
        self.failures = []  # what of each failed check, listed again before the tally

    def __call__(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("PASS " + what)
        else:
            self.failed += 1
            self.failures.append(what)
            print("FAIL " + what + ("\n  " + str(detail)[-1500:].replace("\n", "\n  ") if detail else ""))
        sys.stdout.flush()
        return bool(ok)

    check = __call__  # ck.check(ok, what, detail) where the tally is not itself named check

    def report(self, what, problems):
        """One check: passes when `problems` (strings) is empty, else prints the first `max_lines`."""
        if not problems:
            return self(True, what)
        self(False, "%s (%d problems)" % (what, len(problems)))
        for p in problems[:self.max_lines]:
            print("  " + str(p).replace("\n", "\n  "))
        if len(problems) > self.max_lines:
            print("  ... %d more" % (len(problems) - self.max_lines))
        sys.stdout.flush()
        return False

    def count(self, passed, failures=()):
        """Adds `passed` passes and one failure per name of `failures`, printed by the caller."""
        self.passed += passed
        self.failed += len(failures)
        self.failures += list(failures)

    def cleanup(self, tmp):
        """Removes `tmp` unless a check failed or KEEP_TMP is set."""
        if self.failed or os.environ.get("KEEP_TMP"):
            print("files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    def skip(self, why):
        """The script cannot run the rest (no binary, corpus, module): exit 77 unless a check failed."""
        print("SKIP: " + why)
        return self.summary() or 77

    def summary(self):
        if self.failures:
            print("failed: %s%s" % ("; ".join(self.failures[:20]), " ..." if len(self.failures) > 20 else ""))
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.stdout.flush()
        return 1 if self.failed else 0

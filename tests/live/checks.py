"""PASS/FAIL lines and their tally, shared by the live and control-plane e2e scripts.

    check = Checks()
    check(ok, "what", detail)     # prints PASS/FAIL (detail on failure only)
    return check.summary()        # prints "N passed, N failed"; exit code 0/1
"""
import os
import shutil
import sys


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("PASS " + what)
        else:
            self.failed += 1
            print("FAIL " + what + ("\n  " + str(detail)[-1500:].replace("\n", "\n  ") if detail else ""))
        sys.stdout.flush()
        return bool(ok)

    def cleanup(self, tmp):
        """Removes `tmp` unless a check failed or KEEP_TMP is set."""
        if self.failed or os.environ.get("KEEP_TMP"):
            print("files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    def summary(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0

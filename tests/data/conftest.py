"""Test data, not tests: the template copies here contain test files for rendered projects."""

collect_ignore_glob = ["*"]

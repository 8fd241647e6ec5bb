"""Tests of cohortkit.clv, one file per subject (a package, so that file names need not be unique)."""

"""Tests of cohortkit.value, one file per subject."""

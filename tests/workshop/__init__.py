"""Tests of cohortkit.workshop: the answer keys and the attendee/instructor builds."""

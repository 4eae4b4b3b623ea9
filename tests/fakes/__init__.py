"""Test doubles shared by the test suites (a fake OpenAI-compatible server)."""

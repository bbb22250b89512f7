"""Tests of the plugin manager and the example third-party plugin."""

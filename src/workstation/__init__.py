"""The Qt desktop workstation (views only)."""

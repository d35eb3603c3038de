"""The seams: every subprocess, NVML call and network client chatenv uses goes through here,
behind a small protocol that a test can drive."""

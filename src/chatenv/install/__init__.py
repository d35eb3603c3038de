"""`chatenv install`: pinned profiles and the right PyTorch build for this machine."""

"""The manager's collaborators: each has one job and never imports the manager."""

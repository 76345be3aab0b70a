"""What people read: leaderboard markdown and JSON, the terminal view, plots, export, trackers."""

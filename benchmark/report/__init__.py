"""What people read: the clocks table (one renderer), leaderboard markdown and JSON, the terminal view, plots, export, trackers."""

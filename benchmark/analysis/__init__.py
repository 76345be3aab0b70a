"""Reading records: statistics, scaling fits, leaderboard cells, re-reading old curves, score-basin dissection."""

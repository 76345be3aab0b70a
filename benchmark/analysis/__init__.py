"""Reading records: statistics, scaling fits, leaderboard cells and the typed board built from them, re-reading old curves, score-basin dissection."""

"""Study 3.0's design, decision rules and page, used by leaderboard/study.py (plan, then render)."""

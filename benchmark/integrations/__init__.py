"""Integrations: the ClockMonitor inside other people's training loops (Hugging Face Trainer, …)."""

"""Migration tools: the MP msgrecord history import (no overlap with live traffic) and the JSONL export."""

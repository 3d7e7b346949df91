"""Migration tools: MP msgrecord history import (with identity merge) and the JSONL export."""

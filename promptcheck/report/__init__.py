"""Reports: terminal tables and JSON files rendered from result records."""

"""Server-side analysis of stored results: statistics, time buckets, exports."""
